"""Marks the functions in which a thread of ours waits for work.

The shutdown watchdog names the threads still busy when a stop takes too long; a thread
parked in one of these functions is not busy. Functions mark themselves with ``@idle_wait``
instead of the watchdog keeping a list of their names as strings, which broke silently on a
rename. This is runtime vocabulary rather than business; it lives in ``domain`` because
threads wait in every layer and ``domain`` is the one every layer may import.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_IDLE: set[CodeType] = set()


def idle_wait(func: F) -> F:
    """Mark ``func`` as a place where its thread waits for work (returns it unchanged)."""
    _IDLE.add(func.__code__)
    return func


def is_idle_wait(code: CodeType) -> bool:
    """Is ``code`` the body of a function marked with ``idle_wait``?"""
    return code in _IDLE
