"""Creator checks in real Chromium against a local page built like a real profile page
(header, navigation, a main column of posts with view counters and relative times that
change on every load, a sidebar, a footer, a canonical link): reachable with title,
canonical and final URL after a redirect; unchanged while only counters move; changed when a
post appears; a 404 and a dead port recorded as unreachable with their reasons (retried
within the policy); only one request per attempt reaches the page: nothing else is done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pykka
import pytest

from scripts.fixtures.servers import free_port, redirect_server
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.creator_site import Profile, serve_creator
from tests.helpers import call, open_runtime, refuse, running


@pytest.fixture
def creator_site() -> Iterator[tuple[str, Profile]]:
    with serve_creator() as site:
        yield site


@pytest.fixture
def rt(data_dir: Path) -> Iterator[Runtime]:
    runtime = open_runtime(data_dir, search_attempts=2, search_retry_initial=0.05,
                           search_retry_max=0.1)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def _check(rt: Runtime, name: str) -> dict[str, Any]:
    result: dict[str, Any] = call(rt, "automation:check-creator", name=name, proxy="direct")
    return result


def test_checks_record_what_the_page_says_and_only_real_changes(
        rt: Runtime, creator_site: tuple[str, Profile]) -> None:
    base, profile = creator_site
    call(rt, "automation:add-creator", name="jane", url=base + "/old-profile")
    first = _check(rt, "jane")
    assert first["reachable"] and first["http_status"] == 200 and first["first"]
    assert first["final_url"] == base + "/@jane"  # after the redirect
    assert first["title"] == "Jane Doe (@jane) · Example"
    assert first["canonical_url"] == base + "/@jane"
    assert first["changed"] is False and first["attempts"] == 1
    page_requests = [p for p in profile.requests if p in ("/old-profile", "/@jane")]
    assert page_requests == ["/old-profile", "/@jane"]  # loaded once; nothing followed

    again = _check(rt, "jane")  # counters and relative times moved, the posts did not
    assert (again["reachable"], again["changed"], again["first"]) == (True, False, False)
    assert again["fingerprint"] == first["fingerprint"]
    profile.posts.insert(0, "A new burr set")
    news = _check(rt, "jane")
    assert news["changed"] is True and news["fingerprint"] != first["fingerprint"]
    assert not [p for p in profile.requests if p.startswith(("/p/", "/login", "/explore"))]

    call(rt, "automation:update-creator", name="jane", url=base + "/gone")
    gone = _check(rt, "jane")
    assert (gone["reachable"], gone["reason"], gone["http_status"]) == (False, "http_error", 404)
    assert gone["attempts"] == 1  # a 404 is not retried
    call(rt, "automation:update-creator", name="jane", url=f"http://127.0.0.1:{free_port()}/")
    dead = _check(rt, "jane")
    assert (dead["reachable"], dead["reason"], dead["attempts"]) == (False, "unreachable", 2)

    rt.settle()
    history = call(rt, "automation:creator-history", name="jane")
    assert [h["reachable"] for h in history] == [False, False, True, True, True]
    assert [h["changed"] for h in history] == [False, False, True, False, False]
    [row] = call(rt, "automation:list-creators")
    assert (row["checks"], row["last_reachable"], row["last_reason"]) == (5, False,
                                                                         "unreachable")
    assert row["last_changed_at"] is not None


def test_private_pages_are_refused_without_the_allowance(data_dir: Path) -> None:
    runtime = bootstrap(data_dir)  # the default egress policy
    try:
        error = refuse(runtime, "automation:add-creator", name="x",
                       url="http://169.254.169.254/latest/meta-data/")
        assert error.startswith("url: ")
        assert call(runtime, "automation:list-creators") == []
    finally:
        runtime.close()
        pykka.ActorRegistry.stop_all()


def test_a_refusal_is_told_by_its_kind_not_its_words(data_dir: Path) -> None:
    """A creator page that redirects to an address the egress policy refuses (another port
    of this machine) is a refusal, not retried (another attempt is refused the same); a
    page that is down is unreachable and retried, whatever its address says."""
    elsewhere = free_port()
    with redirect_server(f"http://127.0.0.1:{elsewhere}/admin") as base, \
            running(data_dir, allow_private_targets=False,
                    egress_allow=[f"127.0.0.1:{urlsplit(base).port}"], search_attempts=3,
                    search_retry_initial=0.05, search_retry_max=0.1) as runtime:
        call(runtime, "automation:add-creator", name="moved", url=base + "/@moved")
        result = _check(runtime, "moved")
    assert (result["reachable"], result["reason"], result["attempts"]) == \
        (False, "refused", 1), result
    # a page that is just down, whose address happens to say "egress", is unreachable (and
    # retried): the words of an error are not what refused it
    dead = f"http://127.0.0.1:{free_port()}/egress-refused-by-vipb"
    with running(data_dir, search_attempts=2, search_retry_initial=0.05,
                 search_retry_max=0.1) as runtime:
        call(runtime, "automation:add-creator", name="down", url=dead)
        down = _check(runtime, "down")
    assert (down["reachable"], down["reason"], down["attempts"]) == \
        (False, "unreachable", 2), down
