"""What a command returns once its events are committed."""

from __future__ import annotations

from pydantic import BaseModel


class Ack(BaseModel):
    """Acknowledgement after commit: the aggregate touched and the last notification id.

    ``position`` is 0 when the command changed nothing (e.g. setting the same value again).
    Wait for the read models to reach ``position`` before reading what the command did.
    """

    id: str
    position: int
    changed: bool = True
