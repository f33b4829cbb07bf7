"""User-supplied regular expressions, evaluated by RE2.

Python's ``re`` backtracks: one pattern such as ``(a|a)+$`` costs exponential time and holds the
GIL while it runs, so a single stored rule can freeze every thread of the host. No text check
on the pattern catches every such shape, so user patterns never reach ``re``: RE2 matches in
time linear in the input, and patterns it cannot run that way (back-references, look-arounds)
are refused when they are given, with RE2's own reason.
"""

from __future__ import annotations

import re2

MAX_PATTERN_LEN = 200
# RE2 builds an automaton per pattern; cap its memory so a pattern such as a{1000}{1000}
# is refused at the boundary instead of costing megabytes per rule.
MAX_PROGRAM_BYTES = 2 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern to stderr
    options.max_mem = MAX_PROGRAM_BYTES
    return options


_OPTIONS = _options()


class UserPattern:
    """A user's regular expression compiled by RE2; ``search`` runs in linear time."""

    __slots__ = ("_compiled", "text")

    def __init__(self, text: str) -> None:
        if len(text) > MAX_PATTERN_LEN:
            raise ValueError(f"must be at most {MAX_PATTERN_LEN} characters")
        try:
            self._compiled = re2.compile(text, _OPTIONS)
        except re2.error as exc:
            raise ValueError(f"is not a pattern RE2 can run ({_reason(exc)})") from None
        self.text = text

    def search(self, subject: str) -> bool:
        """Whether the pattern matches anywhere in ``subject``."""
        return self._compiled.search(subject) is not None

    def __repr__(self) -> str:
        return f"UserPattern({self.text!r})"


def _reason(exc: BaseException) -> str:
    detail = exc.args[0] if exc.args else "refused"
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail)
