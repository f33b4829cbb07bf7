"""Give every target under a page the profile's identity at the network level.

A CDP session on the page auto-attaches to new dedicated workers and out-of-process iframes,
paused before their first line (``waitForDebuggerOnStart``); each gets the profile's user
agent, client hints and languages for its own requests (Playwright's override there carries
no brands), then is released. The guard itself reaches workers as their scripts are served
(``_realms``), and blob: and data: workers through the page's own guard.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger(__name__)


class WorkerGuard:
    """Gives every target attached under a page the network ``identity`` (a user-agent
    override's parameters) before it runs."""

    def __init__(self, session: Any, identity: dict[str, Any]) -> None:
        self._session = session
        self._identity = identity
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Ask Chromium to pause new targets until they have the identity."""
        self._session.on("Target.attachedToTarget", self._attached)
        await self._session.send("Target.setAutoAttach", {
            "autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})

    def stop(self) -> None:
        """Cancel answers still in flight (the page is closing)."""
        for task in list(self._tasks):
            task.cancel()

    def _attached(self, params: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._patch(params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, session_id: str, msg_id: int, method: str,
                    params: dict[str, Any] | None = None) -> None:
        """Send one message into the target's session (its reply is not needed)."""
        message = {"id": msg_id, "method": method, "params": params or {}}
        await self._session.send("Target.sendMessageToTarget",
                                 {"sessionId": session_id, "message": json.dumps(message)})

    async def _patch(self, params: dict[str, Any]) -> None:
        session_id = params["sessionId"]
        kind = params.get("targetInfo", {}).get("type")
        try:
            # Emulation in frames; workers have only the Network domain's equivalent. A
            # target runs its messages in order: the override is in place before it runs.
            method = ("Emulation.setUserAgentOverride" if kind == "iframe"
                      else "Network.setUserAgentOverride")
            await self._send(session_id, 1, method, self._identity)
            if params.get("waitingForDebugger"):
                await self._send(session_id, 2, "Runtime.runIfWaitingForDebugger")
        except Exception as exc:  # the page closed under us
            log.debug("could not present the identity to a %s: %s", kind, exc)
