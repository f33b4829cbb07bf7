"""Generated hostile URLs at every place a URL enters vipb (tab create and navigate, the
health check URL, engine base URLs), and generated DNS answers at the egress guard: with the
private-address allowance off, none gets through. Nothing here opens a browser: every one of
them must be refused before anything connects."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Iterator

import pykka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.config import Settings
from adapters.egress import EgressGuard, EgressRefused, Resolver
from domain.egress import EgressPolicy
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import private_v4, spelling

LOCAL_NAMES = ["localhost", "localhost.", "a.localhost", "x.y.localhost.",
               "metadata.google.internal", "metadata.google.internal.", "metadata",
               "instance-data", "LOCALHOST"]


@st.composite
def hostile_url(draw: st.DrawFn) -> str:
    """An http(s) URL whose host is a private address in some spelling, or a local name."""
    if draw(st.booleans()):
        host = draw(spelling(draw(private_v4())))
    else:
        host = draw(st.sampled_from(LOCAL_NAMES))
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    path = draw(st.sampled_from(["/", "/latest/meta-data/", "/search?q={query}", "/%2e%2e/x"]))
    return f"{scheme}://{host}{port}{path}"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    from service.runtime import initialize

    root = tmp_path_factory.mktemp("egress") / "data"
    initialize(root)
    rt = bootstrap(root, settings=Settings(data_dir=root))  # the allowance is off
    yield rt
    rt.close()
    pykka.ActorRegistry.stop_all()


def _refused(rt: Runtime, channel: str, payload: dict[str, object], field: str) -> None:
    reply = rt.dispatcher.dispatch(channel, payload)
    assert reply["success"] is False, (channel, payload)
    assert reply["error"].startswith(f"{field}: "), reply["error"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(url=hostile_url())
def test_tab_urls_and_the_check_url_refuse_every_hostile_url(runtime: Runtime, url: str) -> None:
    _refused(runtime, "tab:create", {"url": url, "proxy": "direct"}, "url")
    _refused(runtime, "tab:navigate", {"tab_id": str(uuid.uuid4()), "url": url}, "url")
    _refused(runtime, "proxy:validate", {"all": True, "check_url": url.replace("{query}", "")},
             "check_url")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(url=hostile_url())
def test_engine_base_urls_refuse_every_hostile_url(tmp_path_factory: pytest.TempPathFactory,
                                                   url: str) -> None:
    from service.runtime import initialize

    root = tmp_path_factory.mktemp("engine") / "data"
    initialize(root)
    base = url.split("?")[0] + "?q={query}"
    rt = bootstrap(root, settings=Settings(data_dir=root, engine_urls={"bing": base}))
    try:
        added = rt.dispatcher.dispatch("automation:add-domain", {"domain": "example.com"})
        assert added["success"], added
        _refused(rt, "automation:start-search", {"keyword": "espresso", "engine": "bing"},
                 "engine_urls.bing")
        with rt.reader() as conn:
            assert conn.execute("SELECT COUNT(*) FROM search_tasks").fetchone()[0] == 0
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


class Answers(Resolver):
    """A resolver that answers what the test says (the attacker's DNS)."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers

    async def resolve(self, host: str, port: int) -> list[str]:
        return list(self.answers)


public = st.builds(  # addresses in networks that are public, so nothing is filtered out
    lambda first, rest: str(ipaddress.IPv4Address((first << 24) | rest)),
    st.sampled_from([1, 8, 20, 45, 93, 104, 142, 151, 185, 216]), st.integers(0, 2**24 - 1))


@given(name=st.from_regex(r"[a-z]{1,12}\.(com|net|test|example)", fullmatch=True),
       private=private_v4().map(str), publics=st.lists(public, max_size=3),
       position=st.integers(0, 3), v6=st.booleans())
def test_a_name_with_any_private_answer_is_refused(name: str, private: str, publics: list[str],
                                                   position: int, v6: bool) -> None:
    bad = f"::ffff:{private}" if v6 else private
    answers = [*publics]
    answers.insert(min(position, len(answers)), bad)
    guard = EgressGuard(EgressPolicy(), Answers(answers))
    with pytest.raises(EgressRefused, match=r"is (a|an|not) ") as refused:
        asyncio.run(guard.addresses(name, 443))
    assert not refused.value.transient  # the policy's answer: it will not change by itself


@given(name=st.from_regex(r"[a-z]{1,12}\.(com|net)", fullmatch=True),
       answers=st.lists(public, min_size=1, max_size=4, unique=True))
def test_a_name_with_only_public_answers_is_allowed(name: str, answers: list[str]) -> None:
    guard = EgressGuard(EgressPolicy(), Answers(answers))
    assert asyncio.run(guard.addresses(name, 443)) == answers


def test_a_name_the_resolver_cannot_resolve_is_refused_not_passed_on() -> None:
    class Failing(Resolver):
        async def resolve(self, host: str, port: int) -> list[str]:
            raise OSError("no such name")

    with pytest.raises(EgressRefused, match="cannot resolve") as refused:
        asyncio.run(EgressGuard(EgressPolicy(), Failing()).addresses("nx.example", 80))
    assert refused.value.transient  # a lookup that failed may work later (alerts retry)
