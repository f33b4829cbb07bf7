"""eventsourcing's JSON transcoding, with orjson on the encode side (the append hot path).

The bytes are the same format as ``JSONTranscoder``'s (tagged ``{"_type_", "_data_"}`` objects
for registered types), so decoding stays with eventsourcing. orjson writes ``uuid.UUID`` as a
plain string, which would not decode back to a UUID, so states holding a UUID anywhere take
the standard encoder.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _holds_uuid(value: Any) -> bool:
    if type(value) is UUID:
        return True
    if isinstance(value, dict):
        return any(_holds_uuid(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_uuid(v) for v in value)
    return False


class FastJSONTranscoder(JSONTranscoder):
    """``JSONTranscoder`` whose ``encode`` uses orjson when it gives identical results."""

    def encode(self, obj: Any) -> bytes:
        """Encode ``obj`` to UTF-8 JSON bytes."""
        if _holds_uuid(obj):
            return super().encode(obj)
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)
