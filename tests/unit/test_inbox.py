"""The closable inbox of proxy actors: nothing put after close is silently lost."""

from __future__ import annotations

import pykka
import pytest

from actors.base import ClosableInbox


def test_close_hands_back_what_it_takes_keeps_the_rest_and_refuses_later_ones() -> None:
    inbox = ClosableInbox()
    for item in ("a", "B", "c", "D"):
        inbox.put(item)
    assert inbox.get() == "a"
    assert inbox.close(str.isupper) == ["B", "D"]
    assert inbox.get() == "c", "what close does not take stays queued for pykka's teardown"
    assert inbox.empty()
    with pytest.raises(pykka.ActorDeadError):
        inbox.put("e")
    assert inbox.empty()
