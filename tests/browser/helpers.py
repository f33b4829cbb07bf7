"""Helpers for browser tests: call channels and unwrap the reply envelope."""

from __future__ import annotations

from typing import Any

from actors.runtime import Runtime


def call(rt: Runtime, channel: str, **payload: Any) -> Any:
    """Dispatch and return ``data``; fail the test with the error otherwise."""
    reply = rt.dispatcher.dispatch(channel, payload)
    assert reply["success"], f"{channel} failed: {reply.get('error')}"
    return reply["data"]


def refuse(rt: Runtime, channel: str, **payload: Any) -> str:
    """Dispatch expecting a refusal; return its error line."""
    reply = rt.dispatcher.dispatch(channel, payload)
    assert not reply["success"], f"{channel} unexpectedly succeeded: {reply.get('data')}"
    error: str = reply["error"]
    return error


def evaluate(rt: Runtime, tab_id: str, expression: str) -> Any:
    """Evaluate JavaScript in a tab's page."""
    return rt.tabs().tab(tab_id).get().evaluate(expression).get()


FRAME_PROBE = "document.getElementById('frame').contentWindow.frameProbe"
