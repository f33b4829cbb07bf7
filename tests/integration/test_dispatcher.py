"""The dispatcher's reply envelopes on a real runtime: success, errors, rate limits, fuzz."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pykka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.rate_limit import RateLimiter
from actors.runtime import Runtime


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(data_dir: Path) -> Iterator[tuple[Runtime, Clock]]:
    clock = Clock()
    rt = Runtime.open(data_dir, rate_limiter=RateLimiter({"proxy:add": 2}, clock=clock))
    yield rt, clock
    rt.close()
    pykka.ActorRegistry.stop_all()


def test_success_envelope_carries_the_ack(runtime: Runtime) -> None:
    reply = runtime.dispatcher.dispatch(
        "proxy:add", {"protocol": "http", "host": "127.0.0.1", "port": 3128})
    assert reply["success"] is True and reply["data"]["position"] > 0
    listed = runtime.dispatcher.dispatch("proxy:list", {})
    assert [p["id"] for p in listed["data"]] == [reply["data"]["id"]]


@pytest.mark.parametrize(
    ("channel", "payload", "needle"),
    [
        ("proxy:teleport", {}, "unknown channel"),
        ("proxy:add", {"protocol": "http", "host": "h", "port": "x"}, "port"),
        ("proxy:add", "not an object", "JSON object"),
        ("proxy:remove", {"proxy_id": "00000000-0000-0000-0000-000000000000"}, "no proxy"),
        ("proxy:validate", {"all": True, "check_url": "http://127.0.0.1:9/get"},
         "not a public address"),
        ("proxy:validate", {"all": True, "check_url": "http://169.254.169.254/latest"},
         "not a public address"),
        ("proxy:validate", {"all": True, "check_url": "http://localhost/x"}, "local"),
        ("proxy:validate", {}, "proxy_id or all"),
    ],
)
def test_error_envelopes_are_one_line(runtime: Runtime, channel: str, payload: Any,
                                      needle: str) -> None:
    reply = runtime.dispatcher.dispatch(channel, payload)
    assert reply["success"] is False and needle in reply["error"]
    assert "\n" not in reply["error"]


def test_rate_limit_reply_has_retry_after_and_writes_nothing(
    limited: tuple[Runtime, Clock],
) -> None:
    rt, clock = limited
    for port in (1, 2):
        assert rt.dispatcher.dispatch(
            "proxy:add", {"protocol": "http", "host": "127.0.0.1", "port": port})["success"]
    head = rt.app.recorder.max_notification_id()
    clock.now = 15
    reply = rt.dispatcher.dispatch("proxy:add", {"protocol": "http", "host": "127.0.0.1",
                                                 "port": 3})
    assert reply["success"] is False and reply["retryAfter"] == pytest.approx(45)
    assert rt.app.recorder.max_notification_id() == head
    assert rt.dispatcher.dispatch("proxy:list", {})["success"]  # other channels unaffected
    clock.now = 61
    assert rt.dispatcher.dispatch("proxy:add", {"protocol": "http", "host": "127.0.0.1",
                                                "port": 3})["success"]


# proxy:validate is left out on purpose: fuzzed proxies may name hosts that need DNS.
channels = st.sampled_from(["proxy:add", "proxy:remove", "proxy:update", "proxy:list",
                            "proxy:set-rotation", "proxy:nope", ""]) | st.text(max_size=30)
values = st.none() | st.booleans() | st.integers() | st.text(max_size=40) | st.lists(
    st.integers(), max_size=3)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(channel=channels, payload=st.dictionaries(st.text(max_size=15), values, max_size=5)
       | values)
def test_fuzzed_envelopes_always_get_an_envelope(runtime: Runtime, channel: str,
                                                 payload: Any) -> None:
    reply = runtime.dispatcher.dispatch(channel, payload)
    assert set(reply) <= {"success", "data", "error", "code", "retryAfter"}
    if not reply["success"]:
        assert reply["error"] and "internal error" not in reply["error"]
