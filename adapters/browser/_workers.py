"""Run the guard in dedicated workers before their own scripts.

``add_init_script`` reaches pages and iframes but not workers. A CDP session on the page
auto-attaches to new workers, paused before their first line (``waitForDebuggerOnStart``);
the guard is evaluated in the worker, then the worker is released. Every attached target
(workers and out-of-process iframes) also gets the profile's user agent, client hints and
languages at the network level (Playwright's own override there carries no brands).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger(__name__)
WORKER_TYPES = frozenset({"worker"})
EVALUATE_TIMEOUT = 10.0


class WorkerGuard:
    """Injects ``script`` into every dedicated worker a page starts, and gives every target
    attached under the page the network ``identity`` (a user-agent override's parameters)."""

    def __init__(self, session: Any, script: str, identity: dict[str, Any]) -> None:
        self._session = session
        self._script = script
        self._identity = identity
        self._tasks: set[asyncio.Task[None]] = set()
        self._replies: dict[tuple[str, int], asyncio.Future[dict[str, Any]]] = {}
        self.injected = 0

    async def start(self) -> None:
        """Ask Chromium to pause new workers until they are patched."""
        self._session.on("Target.attachedToTarget", self._attached)
        self._session.on("Target.receivedMessageFromTarget", self._received)
        await self._session.send("Target.setAutoAttach", {
            "autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})

    def stop(self) -> None:
        """Cancel injections still in flight (the page is closing)."""
        for task in list(self._tasks):
            task.cancel()

    def _attached(self, params: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._patch(params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _received(self, params: dict[str, Any]) -> None:
        try:
            message = json.loads(params["message"])
        except (KeyError, ValueError):
            return
        waiter = self._replies.pop((params.get("sessionId", ""), message.get("id", -1)), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    async def _send(self, session_id: str, msg_id: int, method: str,
                    params: dict[str, Any] | None = None) -> asyncio.Future[dict[str, Any]]:
        """Send one message into the target's session; the future gets its reply."""
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[(session_id, msg_id)] = reply
        message = {"id": msg_id, "method": method, "params": params or {}}
        await self._session.send("Target.sendMessageToTarget",
                                 {"sessionId": session_id, "message": json.dumps(message)})
        return reply

    async def _patch(self, params: dict[str, Any]) -> None:
        session_id = params["sessionId"]
        kind = params.get("targetInfo", {}).get("type")
        try:
            # Emulation in frames; workers have only the Network domain's equivalent
            method = ("Emulation.setUserAgentOverride" if kind == "iframe"
                      else "Network.setUserAgentOverride")
            await self._send(session_id, 3, method, self._identity)
            if kind in WORKER_TYPES:
                # Release the worker only once the guard has run in its global scope.
                reply = await self._send(session_id, 1, "Runtime.evaluate",
                                         {"expression": self._script, "silent": True})
                result = await asyncio.wait_for(reply, EVALUATE_TIMEOUT)
                if "error" in result or "exceptionDetails" in result.get("result", {}):
                    log.warning("privacy guard failed in a worker: %s", str(result)[:200])
                else:
                    self.injected += 1
            if params.get("waitingForDebugger"):
                await self._send(session_id, 2, "Runtime.runIfWaitingForDebugger")
        except Exception as exc:  # the page closed under us: nothing left to patch
            log.debug("worker guard could not patch a %s: %s", kind, exc)
