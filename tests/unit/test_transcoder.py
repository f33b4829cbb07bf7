"""The orjson encoder writes exactly what eventsourcing's JSONTranscoder writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from adapters.store._transcoder import FastJSONTranscoder


def pair() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    reference, fast = JSONTranscoder(), FastJSONTranscoder()
    for t in (reference, fast):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            t.register(transcoding)
    return reference, fast


@pytest.mark.parametrize(
    "state",
    [
        {"timestamp": datetime(2026, 11, 24, 12, 0, 1, 5, tzinfo=UTC), "port": 3128,
         "host": "127.0.0.1", "tags": ["a", "é"], "weight": 1.5, "label": None},
        {"changes": {"weight": 5, "tags": ["x"]}, "credentials_changed": False},
        {"proxy_id": uuid.uuid4(), "nested": {"when": datetime(2026, 1, 1, tzinfo=UTC)}},
        {"deep": [{"id": uuid.uuid4()}], "amount": Decimal("1.10")},
        {"text": 'quote " and \\ and \n newline and 🙂', "big": 2**53 + 1, "neg": -0.0},
    ],
)
def test_same_bytes_and_round_trip(state: dict[str, object]) -> None:
    reference, fast = pair()
    encoded = fast.encode(state)
    assert reference.decode(encoded) == state
    assert encoded == reference.encode(state)
