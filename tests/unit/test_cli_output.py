"""The CLI's progress bars: counts and a rate on a terminal, nothing elsewhere."""

from __future__ import annotations

import io
import re

from rich.console import Console

from entrypoints.cli import output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_counts_and_a_rate_on_a_terminal(monkeypatch) -> None:
    shown = io.StringIO()
    monkeypatch.setattr(output, "err", Console(file=shown, force_terminal=True, width=100))
    monkeypatch.setattr("sys.stderr", _Terminal())
    done = output.with_progress("validating", lambda report: [report(i, 4) for i in
                                                               range(1, 5)] and "ok", False)
    assert done == "ok"
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.getvalue())
    assert "validating" in plain and "4/4" in plain
    assert re.search(r"(\d+\.\d|-)/s", plain), plain  # a rate once there are samples


def test_no_bar_when_quiet_or_not_a_terminal(monkeypatch) -> None:
    shown = io.StringIO()
    monkeypatch.setattr(output, "err", Console(file=shown, force_terminal=True))
    seen: list[object] = []
    output.with_progress("x", lambda report: seen.append(report), True)  # --json
    monkeypatch.setattr("sys.stderr", io.StringIO())  # piped
    output.with_progress("x", lambda report: seen.append(report), False)
    assert seen == [None, None] and shown.getvalue() == ""
