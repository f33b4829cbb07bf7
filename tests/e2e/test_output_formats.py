"""How reads print, through the real console script: tables fit 80 columns with everyday
values and show ids short; --csv, --nl and -c give scripts the same rows as --json; ids take
any unique prefix; writes answer in sentences, not internal values."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.helpers import Cli

PROXIES = "\n".join(
    [f"socks5://user{n}:pw-{n}@198.51.100.{n}:1080" for n in range(1, 9)]
    + [f"203.0.113.{n}:3128" for n in range(1, 10)]) + "\n"

READS = [
    ("proxy", "list"), ("rank", "domain", "list"), ("rank", "keyword", "list"),
    ("schedule", "list"), ("privacy", "list"), ("events", "log"),
    ("projections", "status"), ("session", "list"), ("rank", "tasks"), ("rank", "history"),
    ("tab", "list", "--all"), ("config", "show"), ("rank", "engines"), ("alert", "list"),
    ("alert", "history"), ("creator", "list"), ("doctor",), ("status",),
    ("query", "rotation_events"),
]


def _populate(cli: Cli, tmp_path: Path) -> list[dict[str, object]]:
    assert cli("init").code == 0
    pool = tmp_path / "pool.txt"
    pool.write_text(PROXIES)
    assert cli("proxy", "import", str(pool)).code == 0
    rows = cli("proxy", "list", "--json").json()
    first = str(rows[0]["id"])
    assert cli("proxy", "update", first[:6], "--label", "frankfurt residential",
               "--country", "DE").code == 0
    assert cli("rank", "domain", "add", "shop.example.com").out == \
        "tracking shop.example.com and its subdomains\n"
    assert cli("rank", "domain", "add", "shop.example.com").out == \
        "already tracking shop.example.com and its subdomains\n"
    assert cli("rank", "keyword", "add", "espresso grinder", "--country", "DE").out == \
        "tracking 'espresso grinder' on duckduckgo DE, 30 results deep\n"
    assert cli("schedule", "add", "nightly", "--cron", "0 3 * * *", "--timezone",
               "Europe/Amsterdam").code == 0
    assert cli("schedule", "pause", "nightly").out == "paused schedule nightly\n"
    assert cli("privacy", "create", "berlin", "--os", "windows", "--locale", "de-DE",
               "--timezone", "Europe/Berlin").code == 0
    assert cli("privacy", "blocking", "berlin", "on").out == \
        "profile berlin: tracker blocking on\n"
    secret = tmp_path / "hook.secret"
    secret.write_text("a-webhook-secret-of-32-characters")
    assert cli("alert", "add", "shop-leaves-top-10", "leaves-top", "10", "--domain",
               "shop.example.com", "--webhook", "http://127.0.0.1:9/hooks/vipb?token=abc",
               "--secret-file", str(secret), VIPB_ALLOW_PRIVATE_TARGETS="true").code == 0
    failed = cli("alert", "test", "shop-leaves-top-10", VIPB_ALLOW_PRIVATE_TARGETS="true")
    assert failed.code == 1 and failed.out.startswith(  # port 9 (discard) is closed here
        "test alert to http://127.0.0.1:9/... failed: ConnectionRefusedError"), failed.out
    assert cli("creator", "add", "jane-doe-the-long-named",
               "https://blog.example.com/authors/jane-doe/posts?sort=newest&page=1").code == 0
    for domain in ("shop.example.com", "blog.example.com", "news.example.com"):
        assert cli("rotation", "pick", "--domain", domain).code in (0, 2)
    return list(cli("proxy", "list", "--json").json())


def test_every_read_fits_80_columns_and_scripts_get_the_same_rows(
        cli: Cli, tmp_path: Path) -> None:
    proxies = _populate(cli, tmp_path)
    allowed = ", ".join(f'"10.1.2.{n}:8080"' for n in range(1, 12))
    config = tmp_path / "long.toml"
    config.write_text(f"egress_allow = [{allowed}]\n")  # a long status line
    config.chmod(0o600)
    for args in READS:
        shown = cli(*args, COLUMNS="80", VIPB_CONFIG=str(config))
        assert shown.code == 0 or args == ("doctor",), (args, shown.err)
        lines = shown.out.splitlines()
        if args == ("config", "show"):  # its first line names the file: a (long) temp path
            assert lines[0].startswith("config file: ")
            lines = lines[1:]
        # a word longer than a line (the tests' temp paths) is kept whole on a line of its own
        wide = [line for line in lines
                if len(line) > 80 and max(len(word) for word in line.split()) < 50]
        assert wide == [], (args, wide)
    table = cli("proxy", "list").out.splitlines()
    assert table[0].split() == ["id", "protocol", "host", "port", "country", "label", "status"]
    assert {line.split()[0] for line in table[1:]} == {str(p["id"])[:8] for p in proxies}
    assert "frankfurt r…" in "\n".join(table)  # long free text is cut, with an ellipsis

    as_csv = list(csv.DictReader(io.StringIO(cli("proxy", "list", "--csv").out)))
    assert [r["id"] for r in as_csv] == [p["id"] for p in proxies]  # full ids
    assert as_csv[0]["tags"] == "[]" and as_csv[0]["has_credentials"] == "True"
    lines = cli("proxy", "list", "--nl").out.splitlines()
    assert [json.loads(line) for line in lines] == proxies
    picked = cli("proxy", "list", "--nl", "-c", "host,port", "-c", "id").out.splitlines()
    assert [json.loads(line) for line in picked] == [
        {"host": p["host"], "port": p["port"], "id": p["id"]} for p in proxies]
    assert cli("proxy", "list", "--csv", "-c", "id").out.splitlines() == \
        ["id", *[str(p["id"]) for p in proxies]]
    whole = cli("proxy", "list", "-c", "label").out
    assert "frankfurt residential" in whole  # a picked column is shown whole

    unknown = cli("proxy", "list", "-c", "id,nope")
    assert unknown.code == 2 and unknown.err.startswith("vipb: error: column: no column 'nope'")
    both = cli("schedule", "list", "--json", "--nl")
    assert both.code == 2 and "format: choose one of --json and --nl" in both.err
    schedules = cli("schedule", "list", "--nl").out.splitlines()
    assert [json.loads(s)["name"] for s in schedules] == ["nightly"]


def test_ids_take_any_unique_prefix_and_an_ambiguous_one_is_refused(
        cli: Cli, tmp_path: Path) -> None:
    proxies = [str(p["id"]) for p in _populate(cli, tmp_path)]
    target = proxies[0]
    unique = next(target[:n] for n in range(1, 37)
                  if sum(p.startswith(target[:n]) for p in proxies) == 1)
    assert cli("proxy", "show", unique, "--json").json()["id"] == target
    assert cli("proxy", "show", target.upper()).code == 0  # full, any case
    # 17 proxies, 16 hex digits: some first character is shared
    shared = next(p[0] for p in proxies if sum(q[0] == p[0] for q in proxies) > 1)
    ambiguous = cli("proxy", "show", shared)
    assert ambiguous.code == 2
    assert ambiguous.err == (f"vipb: error: id: '{shared}' matches several proxies; "
                             "give more characters\n")
    missing = cli("rank", "stop", "0123")
    assert missing.code == 2 and "no search task with id '0123'" in missing.err
    record = cli("proxy", "show", unique).out
    assert f"id               {target}" in record  # a record shows the whole id
