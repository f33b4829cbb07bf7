"""A long command's progress through the control socket (issue 32, point 9: `proxy validate
--all` through a host showed `0/?` for the whole run, then everything at once)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from adapters.control import ControlClient
from adapters.control._server import ControlServer


class _Stepper:
    """Reports each step, and takes the next one only once the client has heard of it: the
    command cannot finish unless its reports reach the client while it runs."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.heard = threading.Semaphore(0)

    def __call__(self, channel: str, payload: dict[str, Any], client: str,
                 progress: Any = None) -> dict[str, Any]:
        for done in range(1, self.steps + 1):
            if progress is not None:
                progress(done, self.steps)
                if not self.heard.acquire(timeout=30):
                    return {"success": False, "error": f"step {done} was never heard"}
        return {"success": True, "data": {"steps": self.steps}}


def test_progress_reaches_the_client_while_the_command_runs(tmp_path: Path) -> None:
    stepper = _Stepper(5)
    server = ControlServer(tmp_path / "c.sock", stepper)
    server.start()
    reports: list[tuple[int, int]] = []

    def heard(done: int, total: int) -> None:
        reports.append((done, total))
        stepper.heard.release()

    try:
        with ControlClient(tmp_path / "c.sock", timeout=60) as client:
            reply = client.call("proxy:validate", {}, progress=heard)
            assert reply == {"success": True, "data": {"steps": 5}}, reply
            assert reports == [(n, 5) for n in range(1, 6)]
            plain = client.call("proxy:validate", {})  # not asked: no reports, same reply
            assert plain == {"success": True, "data": {"steps": 5}}
    finally:
        server.stop()
