"""Times as people type them for ``--since``/``--until``: ISO 8601, or relative (``2h``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from domain.errors import ValidationError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2026-11-24``, ``2026-11-24T10:00``, or relative ``30m``/``2h``/``7d``; UTC if naive."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        return now - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a time (use ISO 8601 like 2026-11-24T10:00 or 30m, 2h, 7d)",
            field="since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
