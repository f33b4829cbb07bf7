"""The dispatcher's shared state under concurrent requests over the control socket:
validations of the whole pool while other clients update and remove proxies must each get a
real answer (never "internal error"), and the dispatcher's caches stay bounded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from adapters.config import Settings
from adapters.control import ControlClient
from scripts.fixtures.servers import echo_server
from service.host import Host
from service.rate_limit import RateLimiter
from tests.load import cpu_load

PROXIES = 60


@pytest.fixture
def host(data_dir: Path) -> Iterator[Host]:
    with echo_server() as check_url:
        settings = Settings(data_dir=data_dir, check_url=check_url, allow_private_targets=True)
        h = Host(data_dir, settings, rate_limiter=RateLimiter(limits={}))  # a stress test
        h.start()
        yield h
        h.close()
        pykka.ActorRegistry.stop_all()


def test_validate_update_and_remove_at_once_never_fail_internally(host: Host) -> None:
    # Distinct ports below the ephemeral range: nothing listens there (validations fail
    # fast), and no two proxies collide (free_port() may hand out the same port twice).
    lines = "\n".join(f"http://127.0.0.1:{20000 + n}" for n in range(PROXIES))
    with ControlClient(host.paths.socket) as client:
        ids = client.call("proxy:import", {"lines": lines.split("\n")})["data"]["imported"]
    assert len(ids) == PROXIES
    replies: dict[str, list[dict]] = {"validate": [], "update": [], "remove": []}
    done = threading.Event()

    def validate_all() -> None:
        with ControlClient(host.paths.socket) as client:
            while not done.is_set():
                replies["validate"].append(client.call(
                    "proxy:validate", {"all": True, "samples": 1, "timeout": 2}))

    def validate_one(offset: int) -> None:
        with ControlClient(host.paths.socket) as client:
            for n in range(offset, PROXIES, 3):
                replies["validate"].append(client.call(
                    "proxy:validate", {"proxy_id": ids[n], "samples": 1, "timeout": 2}))

    def update() -> None:
        with ControlClient(host.paths.socket) as client:
            n = 0
            while not done.is_set():
                replies["update"].append(client.call(
                    "proxy:update", {"proxy_id": ids[n % PROXIES], "weight": n % 50 + 1}))
                n += 1

    def remove() -> None:
        with ControlClient(host.paths.socket) as client:
            for proxy_id in ids[::2]:
                replies["remove"].append(client.call("proxy:remove", {"proxy_id": proxy_id}))

    with cpu_load(2):
        workers = [threading.Thread(target=f, args=a, daemon=True) for f, a in [
            (validate_all, ()), (validate_all, ()), (validate_one, (0,)), (validate_one, (1,)),
            (update, ()), (update, ())]]
        for worker in workers:
            worker.start()
        remove()
        done.set()
        for worker in workers:
            worker.join(120)
    assert not any(w.is_alive() for w in workers)
    every = [r for group in replies.values() for r in group]
    assert [r for r in every if r.get("code") == "internal_error"] == []
    assert all(r["success"] for r in replies["remove"])
    # The only refusals: a proxy removed before (or while) its own command ran.
    refused = [r for r in every if not r["success"]]
    assert {r["code"] for r in refused} <= {"proxy_not_found"}, refused[:3]
    whole_pool = [r for r in replies["validate"] if r["success"] and len(r["data"]) > 1]
    assert whole_pool, "validations of the whole pool answered"
    with ControlClient(host.paths.socket) as client:
        left = {p["id"] for p in client.call("proxy:list", {"limit": 1000})["data"]}
        final = client.call("proxy:validate", {"all": True, "samples": 1,
                                                 "timeout": 2})["data"]
    assert left == set(ids[1::2])
    assert {r["id"] for r in final} == left, "removed proxies are no longer validated"

