"""`vipb rank` and `vipb schedule` without a host: targets round-trip, bad input is one line
with exit code 2, and a search that cannot run says why."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import Cli, cli_runner


def test_targets_and_schedules_through_the_cli(cli: Cli) -> None:
    assert cli("init").code == 0
    assert cli("rank", "domain", "add", "WWW.Example.com", "--exact").code == 0
    assert cli("rank", "keyword", "add", "espresso  grinder", "--engine", "bing",
               "--country", "de").code == 0
    [domain] = cli("rank", "domain", "list", "--json").json()
    assert (domain["domain"], domain["include_subdomains"]) == ("example.com", False)
    [keyword] = cli("rank", "keyword", "list", "--json").json()
    assert (keyword["keyword"], keyword["country"]) == ("espresso grinder", "DE")
    added = cli("schedule", "add", "am", "--cron", "0 6 * * *", "-k", "Espresso Grinder",
                "--json").json()
    assert added["state"] == "active" and added["next_run_at"]
    assert cli("schedule", "pause", "am").code == 0
    assert cli("schedule", "list", "--json").json()[0]["state"] == "paused"
    status = cli("status", "--json").json()
    assert status["next_schedules"] == []
    assert cli("schedule", "resume", "am").code == 0
    assert [s["name"] for s in cli("status", "--json").json()["next_schedules"]] == ["am"]
    assert cli("rank", "history", "--json").json() == []


def test_bad_rank_input_is_one_line_and_exit_2(cli: Cli) -> None:
    assert cli("init").code == 0
    cases = [
        (("rank", "domain", "add", "https://example.com/"), "domain: "),
        (("rank", "keyword", "add", "k", "--engine", "altavista"), "engine: "),
        (("rank", "keyword", "add", "k", "--depth", "1000"), "depth: "),
        (("schedule", "add", "s", "--cron", "61 * * * *"), "cron: "),
        (("schedule", "add", "s", "--cron", "0 6 * * *", "--timezone", "Mars/Base"),
         "timezone: "),
        (("schedule", "pause", "nope"), "name: no schedule named 'nope'"),
        (("rank", "run", "--no-wait"), "no_wait: --no-wait needs a running host"),
        (("rank", "stop", "not-a-task"), "task_id: "),
    ]
    for args, start in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert result.err.startswith("vipb: error: " + start), (args, result.err)
        assert result.err.count("\n") == 1, (args, result.err)
    assert cli("rank", "domain", "list", "--json").json() == []
    assert cli("schedule", "list", "--json").json() == []


def test_a_search_without_targets_says_what_to_do(cli: Cli) -> None:
    assert cli("init").code == 0
    result = cli("rank", "run", "-k", "anything")
    assert result.code == 1
    assert "no target domains: add one first (vipb rank domain add example.com)" in result.err
    assert cli("schedule", "add", "am", "--cron", "0 6 * * *").code == 0
    ran = cli("schedule", "run-now", "AM")
    assert ran.code == 1, "a run that searched nothing is not done"
    assert ran.err.count("\n") == 1 and "no target domains" in ran.err, ran.err
    as_json = cli("schedule", "run-now", "am", "--json").json()
    assert (as_json["name"], as_json["tasks"]) == ("am", [])
    assert [s["triggers"] for s in cli("schedule", "list", "--json").json()] == [2]


# A file as people make them: a spreadsheet's BOM and CRLF line ends, a quoted location
# holding commas, a comment, a blank line, columns in their own order, a cell left empty
# for a default, and three bad rows among good ones.
KEYWORDS_CSV = (
    "\ufeffKeyword,Engine,Country,Location,Device,Depth,any_exit_country\r\n"
    "# our core terms\r\n"
    "espresso grinder,bing,de,,,50,\r\n"
    "\"burr grinder, flat\",google,DE,\"Berlin,Berlin,Germany\",mobile,20,no\r\n"
    "\r\n"
    "milk frother,,,,,,\r\n"
    "latte art,altavista,,,,,\r\n"
    "pour over,bing,DE,,,1000,\r\n"
    "cold brew,bing,,Berlin,,,\r\n"
    "moka pot,duckduckgo,FR,,,,yes\r\n"
)


def test_keywords_import_from_a_spreadsheet_csv_and_export_back(cli: Cli, tmp_path: Path) -> None:
    """Issue 32, point 3: keywords were added one call at a time."""
    assert cli("init").code == 0
    source = tmp_path / "keywords.csv"
    source.write_bytes(KEYWORDS_CSV.encode())
    first = cli("rank", "keyword", "import", str(source), "--json")
    assert first.code == 1, "some rows failed"
    report = first.json()
    assert [(e["line"], e["error"].split(":")[0]) for e in report["errors"]] == [
        (7, "engine"), (8, "depth"), (9, "location")]
    assert len(report["added"]) == 4 and report["updated"] == report["unchanged"] == []
    tracked = {(k["keyword"], k["engine"], k["country"], k["device"], k["depth"],
                k["location"], bool(k["any_exit_country"]))
               for k in cli("rank", "keyword", "list", "--json").json()}
    assert tracked == {
        ("espresso grinder", "bing", "DE", "desktop", 50, None, False),
        ("burr grinder, flat", "google", "DE", "mobile", 20, "Berlin,Berlin,Germany", False),
        ("milk frother", "duckduckgo", None, "desktop", 30, None, False),
        ("moka pot", "duckduckgo", "FR", "desktop", 30, None, True)}
    again = cli("rank", "keyword", "import", str(source))
    assert "tracking 0 new keywords, updated 0, 4 unchanged, 3 lines failed" in again.out
    assert again.err.startswith("line 7: engine: "), again.err
    exported = tmp_path / "out.csv"
    wrote = cli("rank", "keyword", "export", "-o", str(exported))
    assert wrote.code == 0 and f"wrote 4 keywords to {exported}" in wrote.out
    assert cli("rank", "keyword", "export").out == exported.read_text()
    other = cli_runner(tmp_path / "other")
    assert other("init").code == 0
    moved = other("rank", "keyword", "import", str(exported), "--json")
    assert moved.code == 0 and len(moved.json()["added"]) == 4, moved.err
    assert other("rank", "keyword", "export").out == exported.read_text()


def test_keywords_import_reads_semicolon_files_and_refuses_unreadable_ones(
        cli: Cli, tmp_path: Path) -> None:
    """Spreadsheets in German or French save CSV with semicolons; a file that cannot be read
    as a whole is one line and tracks nothing."""
    assert cli("init").code == 0
    semi = tmp_path / "de.csv"
    semi.write_bytes("Keyword;Country;Location\r\n"
                     "kaffeemühle;DE;Hamburg,Hamburg,Germany\r\n".encode())
    assert cli("rank", "keyword", "import", str(semi)).code == 1, "duckduckgo takes no place"
    semi.write_bytes("Keyword;Engine;Country;Location\r\n"
                     "kaffeemühle;google;DE;Hamburg,Hamburg,Germany\r\n".encode())
    assert cli("rank", "keyword", "import", str(semi)).code == 0
    [row] = cli("rank", "keyword", "list", "--json").json()
    assert (row["keyword"], row["location"]) == ("kaffeemühle", "Hamburg,Hamburg,Germany")
    for content, start in [(b"words,engine\ncoffee,bing\n", "file: unknown column 'words'"),
                           (b"engine\nbing\n", "file: the header row must name a 'keyword'"),
                           (b"keyword\n\xff\xfe\n", "file: is not UTF-8 text"),
                           (b"", "file: is empty")]:
        bad = tmp_path / "bad.csv"
        bad.write_bytes(content)
        result = cli("rank", "keyword", "import", str(bad))
        assert result.code == 2 and result.err.startswith("vipb: error: " + start), result.err
        assert result.err.count("\n") == 1
    assert len(cli("rank", "keyword", "list", "--json").json()) == 1


def test_removing_a_keyword_by_its_words_names_the_candidates(cli: Cli) -> None:
    """Issue 32, point 8: `rank keyword remove "espresso grinder"` (its own help example)
    failed unless the keyword was tracked on the default engine and device."""
    assert cli("init").code == 0
    for extra in (("--engine", "bing", "--country", "DE"), ("--engine", "bing"),
                  ("--engine", "google", "--device", "mobile")):
        assert cli("rank", "keyword", "add", "espresso grinder", *extra).code == 0
    assert cli("rank", "keyword", "add", "burr grinder", "--engine", "bing").code == 0
    only = cli("rank", "keyword", "remove", "Burr Grinder")
    assert only.code == 0 and "stopped tracking 'burr grinder' on bing" in only.out, only.err
    several = cli("rank", "keyword", "remove", "espresso grinder")
    assert several.code == 2 and "3 tracked keywords match: " in several.err, several.err
    assert "'espresso grinder' on bing DE" in several.err
    narrowed = cli("rank", "keyword", "remove", "espresso grinder", "--device", "mobile")
    assert narrowed.code == 0 and "on google (mobile)" in narrowed.out
    still = cli("rank", "keyword", "remove", "espresso grinder", "--engine", "bing")
    assert still.code == 2 and "2 tracked keywords match" in still.err
    exact = cli("rank", "keyword", "remove", "espresso grinder", "--engine", "bing", "--exact")
    assert exact.code == 0, exact.err
    [left] = cli("rank", "keyword", "list", "--json").json()
    assert (left["engine"], left["country"]) == ("bing", "DE")
    missing = cli("rank", "keyword", "remove", "espresso grinder", "--country", "FR")
    assert missing.code == 2 and "tracked as 'espresso grinder' on bing DE" in missing.err
    assert cli("rank", "keyword", "add", "espresso grinder", "--engine", "google").code == 0
    both = cli("rank", "keyword", "remove", "espresso grinder", "--all-matching", "--json")
    assert both.code == 0 and len(both.json()["id"].split("\n")) == 2
    assert cli("rank", "keyword", "list", "--json").json() == []


def test_the_default_engine_is_a_setting(cli: Cli, tmp_path: Path) -> None:
    """Issue 32, point 8: keywords added without --engine went to duckduckgo, always."""
    assert cli("init").code == 0
    bing = {"VIPB_DEFAULT_ENGINE": "bing"}
    added = cli("rank", "keyword", "add", "coffee", **bing)
    assert added.code == 0 and "'coffee' on bing" in added.out, added.err
    source = tmp_path / "k.csv"
    source.write_text("keyword,country\ntea,DE\n")
    assert cli("rank", "keyword", "import", str(source), **bing).code == 0
    assert cli("rank", "keyword", "add", "mate").code == 0  # not set: duckduckgo
    rows = {r["keyword"]: r["engine"] for r in cli("rank", "keyword", "list", "--json").json()}
    assert rows == {"coffee": "bing", "tea": "bing", "mate": "duckduckgo"}
    assert cli("rank", "keyword", "remove", "coffee", "--exact", **bing).code == 0
    bad = cli("rank", "keyword", "add", "x", VIPB_DEFAULT_ENGINE="Alta Vista")
    assert bad.code == 2 and "default_engine" in bad.err.lower(), bad.err


def test_times_are_shown_in_a_named_zone_and_schedules_in_their_own(cli: Cli) -> None:
    """Issue 32, point 7: a `0 6 * * *` Europe/Berlin schedule listed its next run as
    05:00 in UTC with no zone shown."""
    assert cli("init").code == 0
    assert cli("schedule", "add", "am", "--cron", "0 6 * * *", "--timezone",
               "Europe/Berlin").code == 0
    for extra in ({}, {"TZ": "America/New_York"}, {"VIPB_DISPLAY_TIMEZONE": "Asia/Tokyo"}):
        header, row = cli("schedule", "list", **extra).out.splitlines()[:2]
        assert re.search(r"next_run_at \(CES?T\)$", header.rstrip()), header  # named once
        assert row.rstrip().endswith(" 06:00"), row
    raw = cli("schedule", "list", "--json").json()[0]["next_run_at"]
    assert raw.endswith("+00:00") and raw[11:16] in ("05:00", "04:00"), "machines get UTC"
    status = cli("status").out
    assert "06:00 CE" in status and "Europe/Berlin" in status, status
    def zone_of_log(*args: str, **env: str) -> str:  # the zone the time column names
        shown = cli("events", "log", "--limit", "1", *args, **env).out
        found = re.search(r"timestamp \((\w+)\)", shown)
        return found.group(1) if found else shown

    assert zone_of_log(VIPB_DISPLAY_TIMEZONE="Asia/Tokyo") == "JST"
    assert zone_of_log("--tz", "UTC", VIPB_DISPLAY_TIMEZONE="Asia/Tokyo") == "UTC", \
        "--tz wins over the setting"
    assert zone_of_log(TZ="Europe/Lisbon") in ("WET", "WEST")
    bad = cli("--tz", "Mars/Base", "schedule", "list")
    assert bad.code == 2 and bad.err.startswith("vipb: error: tz: 'Mars/Base' is not"), bad.err
    setting = cli("schedule", "list", VIPB_DISPLAY_TIMEZONE="Mars/Base")
    assert setting.code == 2 and "display_timezone" in setting.err.lower(), setting.err
