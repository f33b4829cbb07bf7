"""`vipb rank` and `vipb schedule` without a host: targets round-trip, bad input is one line
with exit code 2, and a search that cannot run says why."""

from __future__ import annotations

from tests.helpers import Cli


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
