"""Bad input found by trying it, each answered with one line on stderr and exit code 2 (or, for
an import, a report per bad line while the good lines are imported); nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, Result


def _one_line(result: Result, *needles: str) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.count("\n") == 1 and result.err.startswith("vipb: error: "), result.err
    assert "╭" not in result.err and "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, result.err


def _event_count(cli: Cli) -> int:
    log = cli("events", "log", "--limit", "1000000", "--json")
    assert log.code == 0, log.err
    return len(log.json())


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init").code == 0
    return cli


@pytest.mark.parametrize(("args", "needles"), [
    (["proxy", "add", "--protocol", "http", "--host", "127.0.0.1", "--port", "abc"],
     ["'--port'", "valid integer", "vipb proxy add --help"]),
    (["events", "log", "--limit", "0"], ["'--limit'", "greater than or equal to 1"]),
    (["events", "show", "-1"], ["-1"]),
    (["events", "show", "123456789012345678901234567890"], ["less than or equal to"]),
    (["query", "proxies", "--db", "/etc/passwd"], ["is not an SQLite database"]),
    (["query", "proxies", "--db", "/"], ["is not a readable file"]),
    (["backup", "create", "/proc/sys/x"], ["cannot create /proc/sys/x"]),
    (["privacy", "create", "mars", "--timezone", "Mars/Base"],
     ["timezone: 'Mars/Base' is not a known IANA time zone"]),
    (["rotation", "set", "custom", "-p", "rules=" + "[" * 50_000 + "]" * 50_000],
     ["nested too deeply"]),
    (["nosuchcommand"], ["No such command"]),
])
def test_bad_input_is_one_line_and_exit_2(ready: Cli, args: list[str],
                                          needles: list[str]) -> None:
    before = _event_count(ready)
    _one_line(ready(*args), *needles)
    assert _event_count(ready) == before


def test_an_empty_password_line_is_refused_not_taken_as_no_password(ready: Cli) -> None:
    result = ready("proxy", "add", "http://127.0.0.1:5555", "--username", "u",
                   "--password-stdin", input="\n")
    _one_line(result, "--password-stdin read an empty line")
    assert ready("proxy", "list", "--json").json() == []


def test_bad_import_lines_are_reported_and_the_rest_imported(ready: Cli, tmp_path: Path) -> None:
    """A non-UTF-8 byte and a line over 2048 characters in a later chunk (the CLI sends the
    file in chunks of 128 KiB) are errors of their own lines; nothing aborts half-way."""
    lines = [b"http://127.0.0.1:%d" % (20000 + i) for i in range(6000)]
    lines[2] = b"http://127.0.0.1:80\xff81"
    lines[5000] = b"http://127.0.0.1:1/" + b"a" * 3000  # in the second or a later chunk
    path = tmp_path / "proxies.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = ready("proxy", "import", str(path), "--json")
    assert result.code == 1, result.err
    report = result.json()
    assert report["errors"] == [{"line": 3, "error": "is not UTF-8 text (byte 20)"},
                                {"line": 5001, "error": "is longer than 2048 characters"}]
    assert len(report["imported"]) == 5998
    ports = {p["port"] for p in ready("proxy", "list", "--limit", "10000", "--json").json()}
    assert len(ports) == 5998 and 20002 not in ports and 20000 + 5999 in ports
