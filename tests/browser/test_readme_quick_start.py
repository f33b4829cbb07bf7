"""The README's five-minute quick start, run as written (issue 32, point 17): its keyword CSV
is the file imported, its commands run in order through the real console script, in a fresh
directory, against a local engine, proxy and check endpoint (the only substitution: where
"the internet" is). The host line is the README's last and is not run here (it runs until
stopped; the host has tests of its own)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from scripts.fixtures.serp_site import SerpSite
from scripts.fixtures.servers import echo_server, pproxy
from tests.helpers import ENTRY

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start() -> tuple[str, list[list[str]]]:
    """The section's CSV block and its ``vipb`` command lines (comments dropped)."""
    text = README.read_text()
    section = text.split("## Rank tracking in five minutes", 1)[1].split("\n## ", 1)[0]
    keywords = re.search(r"```csv\n(.*?)```", section, re.DOTALL)
    shell = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert keywords and shell, "the quick start has a CSV block and a shell block"
    commands = [shlex.split(line, comments=True) for line in shell.group(1).splitlines()]
    return keywords.group(1), [c for c in commands if c and c[0] == "vipb"]


def test_the_quick_start_runs_as_written(tmp_path: Path, engine_site: SerpSite) -> None:
    csv_text, commands = _quick_start()
    assert commands[-1] == ["vipb", "host", "run"]
    keywords = [line.split(",")[0] for line in csv_text.splitlines()[1:] if line]
    for keyword in keywords:
        engine_site.results[keyword] = ["https://www.example.com/grinders",
                                        "https://other.example/x"]
    (tmp_path / "keywords.csv").write_text(csv_text)
    with pproxy("http") as proxy, echo_server() as check_url:
        (tmp_path / "proxies.txt").write_text(f"127.0.0.1:{proxy.port}\n")
        env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"),
               "VIPB_CHECK_URL": check_url, "VIPB_ALLOW_PRIVATE_TARGETS": "true",
               "VIPB_ENGINE_URLS": json.dumps(engine_site.engine_urls())}
        outputs = {}
        for command in commands[:-1]:
            done = subprocess.run([*ENTRY, *command[1:]], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
            outputs[" ".join(command[1:])] = done.stdout
    assert len(engine_site.queries) == len(keywords)  # one search per keyword
    report = outputs["rank report"]
    lines = report.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("keyword "))
    assert lines[0].startswith("since "), report  # the movement summary comes first
    rows = [line.split() for line in lines[header + 1:] if line.strip()]
    assert len(rows) == len(keywords), report  # each keyword: example.com first, new
    assert all(row[-4:] == ["example.com", "#1", "new", "1"] for row in rows), report
    page = (tmp_path / "report.html").read_text()
    assert "<svg" in page and all(keyword in page for keyword in keywords)
