"""Aggregates: events emitted, invariants enforced, no-ops record nothing."""

from __future__ import annotations

import uuid

import pytest

from domain.creator import Creator
from domain.errors import ProxyNotFoundError, ValidationError
from domain.proxy import EndpointClaim, Proxy
from domain.rank import RANK_TARGETS_ID, Place, RankTargets
from domain.rotation_config import ROTATION_CONFIG_ID, RotationConfig


def make_proxy() -> Proxy:
    return Proxy(id=uuid.uuid4(), protocol="http", host="h", port=1, username="u",
                 password="p", label=None, country=None, weight=1, max_concurrency=10, tags=[])


def names(events: list[object]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_proxy_lifecycle_events() -> None:
    proxy = make_proxy()
    proxy.update({"port": 2, "label": "x"}, None)
    proxy.update({"port": 2}, None)  # no change: no event
    proxy.update({}, ("u", "p"))  # same credentials: no event
    proxy.update({}, ("v", "q"))
    proxy.remove("test")
    assert names(proxy.collect_events()) == [
        "ProxyAdded", "ProxyUpdated", "ProxyUpdated", "ProxyRemoved"]
    assert (proxy.port, proxy.username, proxy.removed) == (2, "v", True)


def test_removed_proxy_refuses_changes() -> None:
    proxy = make_proxy()
    proxy.remove("test")
    with pytest.raises(ProxyNotFoundError):
        proxy.update({"port": 3}, None)
    with pytest.raises(ProxyNotFoundError):
        proxy.remove("again")


def test_only_credential_events_are_marked_for_the_data_key() -> None:
    assert getattr(Proxy.ProxyAdded, "carries_secrets", False)  # type: ignore[attr-defined]
    assert getattr(Proxy.ProxyUpdated, "carries_secrets", False)  # type: ignore[attr-defined]
    assert not getattr(Proxy.ProxyRemoved, "carries_secrets", False)  # type: ignore[attr-defined]


def test_endpoint_claim_ids_are_deterministic_and_claims_exclusive() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    first = EndpointClaim(endpoint_key="k", proxy_id=a)
    assert first.id == EndpointClaim(endpoint_key="k", proxy_id=b).id
    assert first.id != EndpointClaim(endpoint_key="other", proxy_id=a).id
    with pytest.raises(ValueError):
        first.claim(b)
    first.release()
    first.claim(b)
    assert first.owner == b


def test_rotation_config_is_a_singleton_and_same_set_is_a_no_op() -> None:
    config = RotationConfig(strategy="random", params={"seed": 1})
    assert config.id == ROTATION_CONFIG_ID
    config.set_strategy("random", {"seed": 1})
    config.set_strategy("fastest", {})
    assert names(config.collect_events()) == ["RotationConfigCreated", "RotationStrategySet"]


def test_rank_targets_decide_what_a_command_changes() -> None:
    targets = RankTargets(id=RANK_TARGETS_ID)
    assert targets.track_domain("example.com", True)
    assert not targets.track_domain("example.com", True)  # same options: nothing to record
    assert targets.track_domain("example.com", False)  # other options: recorded
    de = Place("DE")
    key = targets.track_keyword("coffee", "bing", 30, "desktop", de)
    assert targets.track_keyword("coffee", "bing", 30, "desktop", de) == key
    targets.track_keyword("coffee", "bing", 50, "desktop", de)
    # the same words near a place, or in another language, are another keyword
    berlin = targets.track_keyword("coffee", "google", 30, "desktop",
                                   Place("DE", "Berlin,Berlin,Germany"))
    english = targets.track_keyword("coffee", "google", 30, "desktop", Place("DE", None, "en"))
    assert len({key, berlin, english}) == 3
    # allowing any exit country changes the keyword (recorded), not its identity
    assert targets.track_keyword("coffee", "bing", 50, "desktop",
                                 Place("DE", any_exit_country=True)) == key
    names = [type(e).__name__ for e in targets.collect_events()]
    assert names == ["RankTargetsCreated", "TargetDomainAdded", "TargetDomainAdded",
                     "KeywordAdded", "KeywordAdded", "KeywordAdded", "KeywordAdded",
                     "KeywordAdded"]
    assert targets.keywords[key]["depth"] == 50 and targets.keywords[key]["any_exit_country"]
    with pytest.raises(ValidationError, match=r"^domain: other\.example is not a target"):
        targets.untrack_domain("other.example")
    exact = {"engine": "bing", "device": "desktop", "country": None, "location": None,
             "language": None}
    with pytest.raises(ValidationError, match=r"^keyword: 'coffee' on bing is not tracked; "
                                              r"tracked as 'coffee' on bing DE, "):
        targets.untrack_keywords("coffee", exact)  # tracked for DE only
    with pytest.raises(ValidationError, match=r"near Munich,Bavaria,Germany is not tracked"):
        targets.untrack_keywords("coffee", {"engine": "google",
                                            "location": "Munich,Bavaria,Germany"})
    with pytest.raises(ValidationError, match=r"^keyword: 3 tracked keywords match: 'coffee' "
                                              r"on bing DE, 'coffee' on google DE near "):
        targets.untrack_keywords("Coffee", {})  # the words alone: which one?
    assert targets.untrack_keywords("COFFEE", {"engine": "bing"}) == [key]  # the only one
    assert targets.untrack_keywords("coffee", {"country": "DE"}, every=True) == \
        [berlin, english]
    targets.untrack_domain("example.com")
    assert [type(e).__name__ for e in targets.collect_events()] == [
        "KeywordRemoved", "KeywordRemoved", "KeywordRemoved", "TargetDomainRemoved"]
    assert targets.domains == {} and targets.keywords == {}


def test_a_creators_checks_say_changed_only_between_reachable_differing_texts() -> None:
    creator = Creator(id=uuid.uuid4(), name="jane", url="https://example.com/", platform="web",
                      priority=3, enabled=True, tags=[])

    def check(fingerprint: str | None, reachable: bool = True) -> bool:
        return creator.record_check(
            reachable=reachable, reason=None if reachable else "timeout",
            http_status=200 if reachable else None, final_url="https://example.com/",
            title="Jane", canonical_url=None, fingerprint=fingerprint, latency_ms=12.0,
            proxy_id=None, attempts=1)

    assert check("a") is False  # the first check has nothing to differ from
    assert check("a") is False
    assert check(None, reachable=False) is False  # unreachable: no verdict on the text
    assert check("b") is True  # compared with the last reachable check, not the failure
    assert check("b") is False
    assert not creator.update(priority=3) and creator.update(priority=1)
    with pytest.raises(ValidationError, match="cannot change name"):
        creator.update(name="joe")
    assert creator.remove() and not creator.remove()
    with pytest.raises(ValidationError, match="was removed"):
        creator.update(priority=2)
    names = [type(e).__name__ for e in creator.collect_events()]
    assert names.count("CreatorChecked") == 5 and names[-2:] == ["CreatorUpdated",
                                                                "CreatorRemoved"]


def test_a_search_task_is_claimable_by_one_host_until_its_lease_runs_out() -> None:
    from datetime import UTC, datetime, timedelta

    from domain.rank import SearchTask

    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    task = SearchTask(id=uuid.uuid4(), keyword="tea", engine="duckduckgo", country=None,
                      depth=10, domains={"t.example": False}, origin="manual",
                      profile="default", proxy="direct")
    assert task.claimable_by("a", now) and task.claimable_by("b", now)  # nobody holds it
    task.claimed(host_id="a", lease_until=now + timedelta(seconds=60), previous=None)
    assert task.claimable_by("a", now)  # its own claim: a restarted host goes on
    assert not task.claimable_by("b", now + timedelta(seconds=59))
    assert task.claimable_by("b", now + timedelta(seconds=60))  # ran out
    task.lease_renewed(host_id="a", lease_until=now + timedelta(seconds=120))
    assert not task.claimable_by("b", now + timedelta(seconds=60))
    task.released(host_id="a", reason="host stopping")
    assert task.claimable_by("b", now)
    task.claimed(host_id="b", lease_until=now + timedelta(seconds=60), previous=None)
    task.completed(results_scanned=10, pages=1, ranked=0)
    assert not task.claimable_by("b", now) and not task.claimable_by("c", now + timedelta(1))
    names = [type(e).__name__ for e in task.collect_events()]
    assert names == ["SearchTaskQueued", "SearchTaskClaimed", "SearchTaskLeaseRenewed",
                     "SearchTaskReleased", "SearchTaskClaimed", "SearchTaskCompleted"]
