"""Actor deaths are on record: in ``on_start`` (which pykka reports to nobody) and in a
told message, with the unreadable event when that is the cause."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pykka
import pytest

from actors.base import VipbActor
from actors.supervision import Supervision, install, uninstall
from adapters.store import CorruptEventError

AGGREGATE = uuid4()


class DiesAtStart(VipbActor):
    def on_start(self) -> None:
        raise CorruptEventError("domain.x:X.Created", AGGREGATE, 3, "failed authentication")


class DiesOnTell(VipbActor):
    def on_receive(self, message: Any) -> Any:
        raise RuntimeError(f"cannot handle {message!r}")


@pytest.fixture
def supervision() -> Iterator[Supervision]:
    s = Supervision(locate=lambda agg, version: 40 + version if agg == AGGREGATE else None)
    install(s)
    yield s
    uninstall(s)
    pykka.ActorRegistry.stop_all()


def test_a_death_in_on_start_is_recorded_with_its_event(supervision: Supervision) -> None:
    ref = DiesAtStart.start()
    with pytest.raises(pykka.ActorDeadError):
        ref.proxy().ready().get(timeout=30)
    [failure] = supervision.failures()
    assert failure.actor == "DiesAtStart"
    assert failure.event == {"notification_id": 43, "aggregate_id": str(AGGREGATE),
                             "version": 3, "topic": "domain.x:X.Created"}
    assert supervision.report()["health"] == "degraded"


def test_a_death_in_a_told_message_is_recorded(supervision: Supervision) -> None:
    assert supervision.report() == {"health": "ok", "failures": []}
    ref = DiesOnTell.start()
    ref.tell("hello")
    assert ref.actor_stopped.wait(30)
    [failure] = supervision.failures()
    assert (failure.actor, failure.error, failure.event) == (
        "DiesOnTell", "cannot handle 'hello'", None)


def test_an_answered_exception_is_not_a_death(supervision: Supervision) -> None:
    ref = DiesOnTell.start()
    with pytest.raises(RuntimeError):
        ref.ask("question", timeout=30)
    assert ref.is_alive() and supervision.failures() == []


def test_an_actor_dead_before_its_proxy_is_made_still_reports_itself() -> None:
    """On a busy machine an actor can die in on_start before the starting thread asks for
    its proxy; pykka refuses to build one then. The stand-in raises ActorDeadError on use,
    like a call through a real proxy of a dead actor."""
    import pykka

    from actors.base import proxy_of

    class Doomed(pykka.ThreadingActor):
        def on_start(self) -> None:
            raise RuntimeError("poisoned")

        def ready(self) -> bool:
            return True

    ref = Doomed.start()
    ref.actor_stopped.wait(30)  # it died in on_start
    with pytest.raises(pykka.ActorDeadError):
        ref.proxy()
    proxy = proxy_of(ref)
    assert proxy.actor_ref is ref and not proxy.actor_ref.is_alive()
    with pytest.raises(pykka.ActorDeadError, match=r"^Doomed \(urn:uuid:.*\) not found$"):
        proxy.ready()
