"""Rank data you can prove, through the CLI with real searches (Chromium, the local engine):
every results page a search reads is kept and can be written back (`vipb rank evidence`);
a fix to an engine definition mends the past (`vipb rank reparse`): the answers that change
get PositionRevised, the first answers stay on record, and history, report and alert
history mark the revised positions; `rank run -k A -k B -k C` searches all three."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scripts.fixtures.serp_site import SerpSite
from scripts.fixtures.servers import WebhookReceiver
from tests.helpers import ENTRY, HAVE_CHROMIUM, Cli

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not HAVE_CHROMIUM and not os.environ.get("CI"),
    reason="no Chromium (apt-get install chromium)")]
SECRET = "a-webhook-secret-of-32-characters"

# the lab engine reads the local engine's Bing-style pages; version 1 has a bug: it takes
# the results of one site (listed.example) for a widget, so every position after it is off
LAB = """name = "lab"
label = "Lab"
url = "{base}/search"
exclude = ["li.b_ad", "li.b_ans"{bug}]
[params]
q = "{{keyword}}"
first = "{{first}}"
[[layouts]]
name = "list"
items = "#b_results > li.b_algo"
link = "h2 a[href]"
[no_results]
css = ["li.b_no"]
"""




def _lab(folder: Path, site: SerpSite, fixed: bool) -> None:
    bug = "" if fixed else ', "li.b_algo:has(a[href*=\'listed.example\'])"'
    (folder / "lab.toml").write_text(LAB.format(base=site.base, bug=bug))


def test_pages_are_kept_shown_and_reread_and_a_fix_mends_the_past(
        cli: Cli, tmp_path: Path, engine_site: SerpSite, hook: WebhookReceiver) -> None:
    assert cli("init").code == 0
    engines = tmp_path / "engines"
    engines.mkdir()
    _lab(engines, engine_site, fixed=False)
    env = {"VIPB_ENGINE_URLS": json.dumps(engine_site.engine_urls()),
           "VIPB_ALLOW_PRIVATE_TARGETS": "true", "VIPB_SEARCH_RETRY_INITIAL": "0.01",
           "VIPB_ENGINES_DIR": str(engines)}
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    assert cli("rank", "domain", "add", "target.example").code == 0
    assert cli("alert", "add", "climb", "moves", "3", "--domain", "target.example",
               "--webhook", hook.url, "--secret-file", str(secret), **env).code == 0
    assert cli("rank", "keyword", "add", "tea", "--engine", "lab", **env).code == 0
    engine_site.results["tea"] = [*(f"https://f{i}.example/" for i in range(4)),
                                  "https://www.target.example/tea"]
    assert cli("rank", "run", "--proxy", "direct", **env).code == 0
    engine_site.results["tea"] = ["https://f0.example/", "https://listed.example/tea",
                                  "https://www.target.example/tea", "https://f1.example/"]
    second = cli("rank", "run", "--proxy", "direct", **env)
    assert second.code == 0, second.err
    assert "target.example: #2" in second.out  # the bug: listed.example was not counted
    [delivery] = hook.deliveries
    assert "#5 -> #2" in delivery.json()["message"]

    # the page the answer came from, written back: scripts gone, a banner saying what it is
    history = cli("rank", "history", "--json").json()
    latest = history[0]
    assert (latest["position"], latest["revised"], len(latest["evidence"])) == (2, False, 1)
    page = tmp_path / "page.html"
    shown = cli("rank", "evidence", latest["task_id"][:8], "-o", str(page), "--json", **env)
    assert shown.code == 0, shown.err
    assert shown.json()["hash"] == latest["evidence"][0]
    text = page.read_text()
    assert 'id="vipb-evidence"' in text and "Content-Security-Policy" in text
    assert "https://listed.example/tea" in text and "<script" not in text
    assert "lab" in text and "tea" in text  # engine and query in the banner
    beyond = cli("rank", "evidence", latest["task_id"][:8], "-o", str(page), "--page", "2")
    assert beyond.code == 2 and beyond.err.strip().endswith("page: the search kept 1 page(s)")
    # the HTML report links each latest position to the page it was read from
    report = tmp_path / "report.html"
    made = cli("rank", "report", "-f", "html", "-o", str(report), "--evidence", **env)
    assert made.code == 0, made.err
    linked = tmp_path / "report-evidence" / f"{latest['task_id']}.html"
    assert f'href="report-evidence/{latest["task_id"]}.html"' in report.read_text()
    assert 'id="vipb-evidence"' in linked.read_text()
    refused = cli("rank", "report", "--evidence")
    assert refused.code == 2 and "evidence: links to pages need an html report" in refused.err
    _dashboard_shows_the_kept_page(tmp_path / "data", latest["task_id"])

    # fix the definition; a dry run says what would change and records nothing
    _lab(engines, engine_site, fixed=True)
    dry = cli("rank", "reparse", "--dry-run", **env)
    assert dry.code == 0, dry.err
    assert "would revise target.example for 'tea' on lab: #2 -> #3" in dry.out, dry.out
    assert "2 re-read, 1 answer(s) would revise, 1 unchanged" in dry.out
    assert cli("rank", "history", "--json").json()[0]["position"] == 2
    done = cli("rank", "reparse", "--json", **env)
    assert done.code == 0, done.err
    result = done.json()
    assert [(r["domain"], r["old"], r["new"]) for r in result["revised"]] == \
        [("target.example", 2, 3)]
    assert result["definitions"]["lab"].startswith("lab@")

    # history, report and alert history show the revised position, marked; the first
    # answer stays on record as it was
    row = cli("rank", "history", "--json").json()[0]
    assert (row["position"], row["revised"], row["original_position"]) == (3, True, 2)
    assert "#3 (revised, was #2)" in cli("rank", "history").out
    [report] = cli("rank", "report", "--json").json()["rows"]
    assert (report["latest"], report["revised"], report["original"]) == (3, True, 2)
    [alert] = cli("alert", "history", "--json").json()
    assert (alert["revised"], alert["revised_position"]) == (True, 3)
    events = cli("events", "log", "--aggregate", row["task_id"], "--json").json()
    names = [e["event"] for e in events]
    assert names.count("PositionRecorded") == 1 and names[-1] == "PositionRevised"
    revision = events[-1]["data"]
    assert (revision["old_position"], revision["new_position"]) == (2, 3)
    assert revision["definition"] == result["definitions"]["lab"]
    # again: the revised search was read by this definition already, the other one is read
    # again and still says the same; nothing new is recorded
    again = cli("rank", "reparse", "--json", **env).json()
    assert (again["reread"], again["revised"], again["skipped"]["same_definition"]) == \
        (1, [], 1)
    assert len(cli("events", "log", "--aggregate", row["task_id"], "--json").json()) == \
        len(events)


def _dashboard_shows_the_kept_page(data: Path, task_id: str) -> None:
    """`vipb serve`'s /evidence/<task>: the kept page made safe, sandboxed, behind the token;
    a search with none kept, a bad id and no token are refused (many times: each request
    opens the evidence store, and closes it)."""
    env = {**os.environ, "VIPB_DATA_DIR": str(data), "VIPB_KEYRING": "off"}
    server = subprocess.Popen([*ENTRY, "serve", "--port", "0", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        parts = urlsplit(json.loads(server.stdout.readline())["address"])
        token = (data / "dashboard.token").read_text().strip()

        def get(path: str, **headers: str) -> tuple[int, dict[str, str], str]:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
            try:
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                return (answer.status, {k.lower(): v for k, v in answer.getheaders()},
                        answer.read().decode())
            finally:
                conn.close()

        bearer = {"Authorization": f"Bearer {token}"}
        for _ in range(20):
            status, headers, body = get(f"/evidence/{task_id}", **bearer)
            assert status == 200, body
        assert 'id="vipb-evidence"' in body and "https://listed.example/tea" in body
        assert "<script" not in body
        assert headers["content-security-policy"].startswith("sandbox; default-src 'none'")
        assert get(f"/evidence/{uuid.uuid4()}", **bearer)[0] == 404
        assert get("/evidence/not-a-task", **bearer)[0] == 404
        assert get(f"/evidence/{task_id}")[0] == 401
    finally:
        server.terminate()
        assert server.wait(30) == 0, server.stderr.read() if server.stderr else ""


def test_rank_run_searches_every_keyword_given(cli: Cli, engine_site: SerpSite) -> None:
    """`rank run -k A -k B -k C` used to search only C, without a word."""
    assert cli("init").code == 0
    env = {"VIPB_ENGINE_URLS": json.dumps(engine_site.engine_urls()),
           "VIPB_ALLOW_PRIVATE_TARGETS": "true"}
    for words in ("alpha", "beta", "gamma"):
        engine_site.results[words] = [f"https://www.target.example/{words}"]
    assert cli("rank", "domain", "add", "target.example").code == 0
    ran = cli("rank", "run", "-k", "alpha", "-k", "beta", "-k", "gamma", "--proxy", "direct",
              "--json", **env)
    assert ran.code == 0, ran.err
    assert sorted(t["keyword"] for t in ran.json()["tasks"]) == ["alpha", "beta", "gamma"]
    assert sorted(q["q"] for q in engine_site.queries) == ["alpha", "beta", "gamma"]
