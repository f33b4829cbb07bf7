"""`proxy:validate` end to end in-process: checks through real proxies become events and
update the read model; status changes are recorded once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pykka
import pytest

from adapters.config import Settings
from adapters.store import EventHistory
from domain.commands import UpdateProxy, ValidateProxy
from domain.parsing import parse_command
from scripts.fixtures.servers import echo_server, free_port, http_server, pproxy
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import add_cmd


@pytest.fixture
def lab(data_dir: Path) -> Iterator[tuple[Runtime, str]]:
    with echo_server() as url:
        settings = Settings(data_dir=data_dir, check_url=url, allow_private_targets=True)
        rt = bootstrap(data_dir, settings=settings)
        yield rt, url
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_validate_all_records_events_and_status(lab: tuple[Runtime, str]) -> None:
    rt, _ = lab
    with pproxy("http", "alice", "pw") as good_proxy:
        good = rt.dispatcher.execute(add_cmd(good_proxy.port, "alice", "pw")).id
        wrong = rt.dispatcher.execute(add_cmd(good_proxy.port, "mallory", "bad")).id
        dead = rt.dispatcher.execute(add_cmd(free_port())).id
        seen: list[int] = []
        results = rt.dispatcher.execute(parse_command(ValidateProxy, {"all": True,
                                                                      "samples": 2}),
                                        progress=lambda d, t: seen.append(d))
        by_id = {r.id: r for r in results}
        assert by_id[good].status == "active" and by_id[good].latency_ms
        assert (by_id[wrong].status, by_id[wrong].failure) == ("failed", "auth")
        assert (by_id[dead].status, by_id[dead].failure) == ("failed", "refused")
        assert sorted(seen) == [1, 2, 3]
        # validating again changes no status: no second ProxyStatusChanged
        rt.dispatcher.execute(parse_command(ValidateProxy, {"proxy_id": good}))

    rt.settle()
    with rt.reader() as conn:
        rows = {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT id, status, latency_ms FROM proxies")}
    assert rows[good][0] == "active" and rows[good][1] > 0
    assert rows[wrong] == ("failed", None) and rows[dead] == ("failed", None)
    events = [(e.event, e.data.get("proxy_id") if e.data else None)
              for e in EventHistory(rt.app).log(limit=100)]
    health = {"ProxyValidated", "ProxyValidationFailed", "ProxyStatusChanged"}
    mine = [name for name, proxy in events if proxy == good and name in health]
    assert mine == ["ProxyValidated", "ProxyStatusChanged", "ProxyValidated"]
    secrets = " ".join(str(e.data) for e in EventHistory(rt.app).log(limit=100))
    assert "'pw'" not in secrets and "'bad'" not in secrets


def test_changed_credentials_are_used_by_the_next_validation(lab: tuple[Runtime, str]) -> None:
    rt, _ = lab
    with pproxy("http", "alice", "pw") as proxy:
        proxy_id = rt.dispatcher.execute(add_cmd(proxy.port, "alice", "pw")).id
        validate = parse_command(ValidateProxy, {"proxy_id": proxy_id, "samples": 1})
        assert rt.dispatcher.execute(validate)[0].status == "active"
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                          "password": "changed"}))
        assert rt.dispatcher.execute(validate)[0].failure == "auth"
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                          "password": "pw"}))
        assert rt.dispatcher.execute(validate)[0].status == "active"


def test_private_check_url_is_refused_by_default(runtime: Runtime) -> None:
    from domain.errors import ValidationError

    runtime.dispatcher.execute(add_cmd(3128))
    with pytest.raises(ValidationError, match="check_url"):
        runtime.dispatcher.execute(parse_command(ValidateProxy, {"all": True}))


def test_validating_a_pool_after_a_restart_starts_no_actor_per_proxy(data_dir: Path) -> None:
    from actors.proxy_actor import ProxyActor

    with echo_server() as url:
        settings = Settings(data_dir=data_dir, check_url=url, allow_private_targets=True)
        rt = bootstrap(data_dir, settings=settings)
        with pproxy("http", "u", "pw") as proxy:
            for n in range(30):  # distinct users: distinct endpoints on the same proxy
                rt.dispatcher.execute(add_cmd(proxy.port, "u" if n == 0 else f"user{n}", "pw"))
            rt.close()
            pykka.ActorRegistry.stop_all()
            rt = bootstrap(data_dir, settings=settings)  # no proxy actor is running now
            try:
                results = rt.dispatcher.execute(parse_command(ValidateProxy, {
                    "all": True, "samples": 1}))
                outcomes = sorted((r.status, r.failure) for r in results)
                # credentials came back from the store: the right ones pass, the others 407
                assert outcomes == [("active", None)] + [("failed", "auth")] * 29
                assert pykka.ActorRegistry.get_by_class(ProxyActor) == []
            finally:
                rt.close()
                pykka.ActorRegistry.stop_all()


class _Unavailable(BaseHTTPRequestHandler):
    """A check endpoint that is down for maintenance: 503 to everyone."""

    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _health_events(rt: Runtime) -> list[str]:
    names = {"ProxyValidated", "ProxyValidationFailed", "ProxyStatusChanged"}
    return [e.event for e in EventHistory(rt.app).log(limit=1000) if e.event in names]


@pytest.mark.parametrize("target", ["nothing listens", "503 for everyone"])
def test_a_broken_check_url_is_refused_and_nothing_is_recorded(data_dir: Path,
                                                              target: str) -> None:
    """With working proxies and a check URL that is down, the target is blamed, not the
    pool: one clear error, no status changed, no health event."""
    with contextlib.ExitStack() as stack:
        if target == "nothing listens":
            check_url = f"http://127.0.0.1:{free_port()}/get"
        else:
            check_url = stack.enter_context(http_server(_Unavailable)) + "/get"
        settings = Settings(data_dir=data_dir, check_url=check_url,
                            allow_private_targets=True)
        rt = stack.enter_context(contextlib.closing(bootstrap(data_dir, settings=settings)))
        proxies = [stack.enter_context(pproxy("http")) for _ in range(3)]
        ids = [rt.dispatcher.execute(add_cmd(p.port)).id for p in proxies]
        head = rt.app.recorder.max_notification_id()
        reply = rt.dispatcher.dispatch("proxy:validate", {"all": True, "samples": 1})
        assert reply["code"] == "check_target_failed", reply
        assert reply["error"].startswith(f"the check URL {check_url} failed, not the proxies")
        assert "nothing was recorded" in reply["error"] and "\n" not in reply["error"]
        single = rt.dispatcher.dispatch("proxy:validate", {"proxy_id": ids[0], "samples": 1})
        assert single["code"] == "check_target_failed"
        assert rt.app.recorder.max_notification_id() == head
        assert _health_events(rt) == []
        rt.settle()
        with rt.reader() as conn:
            assert {r[0] for r in conn.execute("SELECT status FROM proxies")} == {"unknown"}
    pykka.ActorRegistry.stop_all()


def test_dead_proxies_behind_a_working_check_url_are_still_failed(lab) -> None:
    rt, _ = lab
    ids = [rt.dispatcher.execute(add_cmd(free_port())).id for _ in range(3)]
    results = rt.dispatcher.execute(parse_command(ValidateProxy, {"all": True, "samples": 1}))
    assert {(r.id, r.status, r.failure) for r in results} == {
        (i, "failed", "refused") for i in ids}
    assert _health_events(rt).count("ProxyValidationFailed") == 3
