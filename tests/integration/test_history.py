"""Reading the event log for audit: filters, masking, unreadable events listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.store import EventHistory, parse_since
from domain.errors import ValidationError
from service.runtime import Runtime
from tests.helpers import add_cmd
from tests.pg import BOTH_STORES


@BOTH_STORES
def test_since_aggregate_and_limit(runtime: Runtime) -> None:
    first = runtime.dispatcher.execute(add_cmd(3128, "u", "p"))
    cutoff = datetime.now(UTC)
    second = runtime.dispatcher.execute(add_cmd(3129, "v", "q"))
    history = EventHistory(runtime.app)
    assert len(history.log()) == 4
    recent = history.log(since=cutoff)
    assert [e.notification_id for e in recent] == [3, 4]
    assert {e.aggregate_id for e in history.log(aggregate=first.id[:8])} == {first.id}
    assert [e.notification_id for e in history.log(limit=1)] == [second.position]
    entry = history.show(1)
    assert entry.data is not None and entry.data["password"] == "***"
    with pytest.raises(ValidationError):
        history.log(aggregate="not-hex!")
    with pytest.raises(ValidationError):
        history.show(99)


def test_parse_since_forms() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-11-24T10:00", now) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="since"):
        parse_since("last tuesday", now)
