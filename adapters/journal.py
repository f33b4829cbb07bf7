"""Log lines journald can sort by priority.

Under systemd, a service's stderr is a stream into the journal, and systemd says so in
``JOURNAL_STREAM`` (the device and inode of that stream). journald reads a ``<N>`` prefix on
each line as its syslog priority (``SyslogLevelPrefix=``, on by default), so ``journalctl -p
warning`` shows warnings and worse. The prefix is added only when stderr really is that
stream: on a terminal or in a file, lines stay as they were.
"""

from __future__ import annotations

import logging
import os
from typing import IO

# syslog priorities (RFC 5424) of Python's levels
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
             (logging.INFO, 6))


def priority(level: int) -> int:
    """The syslog priority of a logging level (7, debug, below INFO)."""
    return next((value for floor, value in _PRIORITY if level >= floor), 7)


def writes_to_journal(stream: IO[str]) -> bool:
    """Whether ``stream`` is the journal stream systemd connected (``JOURNAL_STREAM`` names
    its ``device:inode``)."""
    named = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = named.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        found = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return (found.st_dev, found.st_ino) == (int(device), int(inode))


class PriorityPrefix(logging.Formatter):
    """Another formatter's lines, each prefixed with the record's ``<priority>`` (a text
    traceback spans lines: each gets it, or journald would file them as info)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` with the inner formatter, then prefix every line."""
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self._inner.format(record).split("\n"))
