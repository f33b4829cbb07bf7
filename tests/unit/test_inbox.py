"""The closable inbox of proxy actors: nothing put after close is silently lost."""

from __future__ import annotations

import pykka
import pytest

from actors.base import ClosableInbox


def test_close_returns_queued_messages_and_refuses_later_ones() -> None:
    inbox = ClosableInbox()
    inbox.put("a")
    inbox.put("b")
    assert inbox.get() == "a"
    assert inbox.close() == ["b"]
    assert inbox.empty()
    with pytest.raises(pykka.ActorDeadError):
        inbox.put("c")
    assert inbox.empty()
