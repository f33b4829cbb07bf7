"""The CLI end to end through the real entry point: happy paths, bad input, no leaks."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import Cli, files_containing
from tests.pg import BOTH_STORES

SECRET = "S3cr3t-Pa55word"


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init").code == 0
    return cli


def event_count(tmp_path: Path) -> int:
    conn = sqlite3.connect(tmp_path / "data" / "events.sqlite")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
    finally:
        conn.close()


def test_commands_before_init_fail_with_a_hint(cli: Cli) -> None:
    result = cli("proxy", "list")
    assert result.code == 2
    assert result.err.strip().startswith("vipb: error:") and "vipb init" in result.err
    assert "Traceback" not in result.err


def test_version_needs_no_data_dir(cli: Cli) -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert (result.code, result.out) == (0, f"vipb {version('virtual-ip-browser')}\n")


def test_init_is_idempotent_and_reports_the_key_source(cli: Cli) -> None:
    first = cli("init", "--json").json()
    assert first["created"] is True and first["master_key_source"].startswith("file:")
    assert cli("init", "--json").json()["created"] is False


@BOTH_STORES
def test_add_list_show_update_remove(ready: Cli, tmp_path: Path) -> None:
    added = ready("proxy", "add", f"socks5://alice:{SECRET}@127.0.0.1:1080", "--country", "de",
                  "--region", "eu-west", "--tag", "fast", "--json")
    assert added.code == 0, added.err
    proxy_id = added.json()["id"]
    rows = ready("proxy", "list", "--json").json()
    assert [(r["id"], r["protocol"], r["port"], r["country"], r["has_credentials"], r["tags"])
            for r in rows] == [(proxy_id, "socks5", 1080, "DE", True, ["fast"])]
    shown = ready("proxy", "show", proxy_id[:8], "--json").json()
    assert shown["id"] == proxy_id and shown["region"] == "eu-west"
    assert ready("proxy", "update", proxy_id[:8], "--port", "1081").code == 0
    assert ready("proxy", "show", proxy_id, "--json").json()["port"] == 1081
    removed = ready("proxy", "remove", proxy_id[:8])
    assert removed.code == 0 and "shredded" in removed.out
    assert ready("proxy", "list", "--json").json() == []
    assert files_containing(tmp_path / "data", SECRET.encode()) == []


def test_password_from_stdin(ready: Cli) -> None:
    added = ready("proxy", "add", "--protocol", "http", "--host", "127.0.0.1", "--port", "3128",
                  "--username", "bob", "--password-stdin", "--json", input=SECRET + "\n")
    assert added.code == 0, added.err
    assert ready("proxy", "list", "--json").json()[0]["has_credentials"] is True


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["proxy", "add", "--protocol", "http", "--host", "127.0.0.1", "--port", "70000"], "port"),
        (["proxy", "add", "ftp://127.0.0.1:21"], "scheme"),
        (["proxy", "add", "--protocol", "gopher", "--host", "h", "--port", "1"], "protocol"),
        (["proxy", "add", "--protocol", "http", "--host", "<script>", "--port", "1"], "host"),
        (["proxy", "add", "http://127.0.0.1:1", "--label", "<b>x</b>"], "label"),
        (["rotation", "set", "sticky_session", "--param", "ttl_seconds=-1"], "ttl_seconds"),
        (["rotation", "set", "teleport"], "strategy"),
        (["query", "nope"], "table"),
        (["query", "proxies", "--where", "password=x"], "where"),
        (["events", "log", "--since", "yesterday-ish"], "since"),
        (["events", "log", "-t", "proxy added"], "type"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    ready: Cli, tmp_path: Path, args: list[str], field: str
) -> None:
    before = event_count(tmp_path)
    result = ready(*args)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vipb: error:") and field in lines[0]
    assert event_count(tmp_path) == before


def test_duplicate_add_is_refused_with_the_existing_id(ready: Cli) -> None:
    first = ready("proxy", "add", "http://u:p@127.0.0.1:3128", "--json").json()["id"]
    again = ready("proxy", "add", "http://u:other@127.0.0.1:3128")
    assert again.code == 2 and first in again.err


def test_unknown_proxy_id(ready: Cli) -> None:
    result = ready("proxy", "show", "deadbeef")
    assert result.code == 2 and "no proxy" in result.err


def test_import_reports_bad_lines_and_imports_the_rest(ready: Cli, tmp_path: Path) -> None:
    source = tmp_path / "proxies.txt"
    source.write_text(
        "# comment\n127.0.0.1:3128\n\nnot a proxy\n127.0.0.1:3129:carol:" + SECRET + "\n"
        "socks5://127.0.0.1:1080\n127.0.0.1:99999\n127.0.0.1:3128\n"
    )
    result = ready("proxy", "import", str(source), "--json")
    assert result.code == 1
    report = result.json()
    assert len(report["imported"]) == 3
    assert [e["line"] for e in report["errors"]] == [4, 7, 8]
    assert "already in the pool" in report["errors"][2]["error"]
    assert len(ready("proxy", "list", "--json").json()) == 3
    assert SECRET not in result.out + result.err


def test_gateway_usernames_are_distinct_proxies_and_upsert_updates_passwords(
        ready: Cli, tmp_path: Path) -> None:
    source = tmp_path / "gateway.txt"
    lines = [f"gate.example.com:7777:user-session-{n}:{SECRET}{n}" for n in (1, 2, 3)]
    source.write_text("\n".join(lines) + "\n")
    first = ready("proxy", "import", str(source), "--json")
    assert first.code == 0, first.err
    ids = first.json()["imported"]
    assert len(set(ids)) == 3, "one proxy per username at the same host:port"
    again = ready("proxy", "import", str(source), "--json").json()
    assert [e["line"] for e in again["errors"]] == [1, 2, 3] and again["imported"] == []
    lines[1] = "gate.example.com:7777:user-session-2:rotated-" + SECRET
    source.write_text("\n".join(lines) + "\n")
    upserted = ready("proxy", "import", str(source), "--upsert", "--json")
    assert upserted.code == 0, upserted.err
    report = upserted.json()
    assert (report["imported"], report["updated"], report["errors"]) == ([], [ids[1]], [])
    assert len(ready("proxy", "list", "--json").json()) == 3
    events = ready("events", "log", "--aggregate", ids[1], "--json").json()
    assert [e["event"] for e in events][-1] == "ProxyUpdated", "the update is on record"
    assert "rotated-" not in upserted.out + upserted.err + str(events)


def test_rotation_set_and_show(ready: Cli) -> None:
    assert ready("rotation", "show", "--json").json()["strategy"] == "round_robin"
    result = ready("rotation", "set", "geographic", "-p", "countries=US,DE", "-p",
                   "fallback_any=false", "--json")
    assert result.code == 0, result.err
    shown = ready("rotation", "show", "--json").json()
    assert shown["strategy"] == "geographic"
    assert shown["params"] == {"countries": ["US", "DE"], "exclude": [], "fallback_any": False,
                               "regions": []}
    assert ready("rotation", "set", "geographic", "-p", "countries=US,DE", "-p",
                 "fallback_any=false", "--json").json()["changed"] is False


@BOTH_STORES
def test_rotation_pick_is_recorded(ready: Cli) -> None:
    assert ready("rotation", "pick").code != 0  # no proxy yet: a clear error, not a crash
    proxy_id = ready("proxy", "add", "http://127.0.0.1:3128", "--country", "DE",
                     "--json").json()["id"]
    assert ready("rotation", "set", "geographic", "-p", "countries=DE").code == 0
    picked = ready("rotation", "pick", "--domain", "shop.example.com", "--json").json()
    assert picked["proxy_id"] == proxy_id and picked["strategy"] == "geographic"
    logged = ready("query", "rotation_events", "--json").json()
    assert [r["proxy_id"] for r in logged] == [proxy_id]


@BOTH_STORES
def test_sticky_sessions_hold_across_cli_processes(ready: Cli) -> None:
    for port in (3201, 3202, 3203):
        assert ready("proxy", "add", f"http://127.0.0.1:{port}").code == 0
    assert ready("rotation", "set", "sticky_session", "-p", "ttl_seconds=900").code == 0
    first = ready("rotation", "pick", "--domain", "shop.example.com", "--json").json()
    again = ready("rotation", "pick", "--domain", "shop.example.com", "--json").json()
    assert first["reason"] == "new binding for shop.example.com"
    assert (again["proxy_id"], again["reason"]) == (first["proxy_id"],
                                                    "sticky for shop.example.com")


@BOTH_STORES
def test_query_events_and_projections(ready: Cli) -> None:
    for port in (3128, 3129, 8080):
        ready("proxy", "add", f"http://u:{SECRET}@127.0.0.1:{port}")
    rows = ready("query", "proxies", "--where", "port>=3129", "--where", "protocol=http",
                 "--json").json()
    assert sorted(r["port"] for r in rows) == [3129, 8080]
    log = ready("events", "log", "--json").json()
    assert [e["event"] for e in log].count("ProxyAdded") == 3
    proxy_event = next(e for e in log if e["event"] == "ProxyAdded")
    shown = ready("events", "show", str(proxy_event["notification_id"]), "--json").json()
    assert shown["data"]["password"] == "***" and shown["data"]["username"] == "***"
    one = ready("events", "log", "--aggregate", proxy_event["aggregate_id"][:6], "--json").json()
    assert {e["aggregate_id"] for e in one} == {proxy_event["aggregate_id"]}
    assert ready("events", "log", "--since", "1h", "--json").json() == log
    added = ready("events", "log", "-t", "ProxyAdded,EndpointRegistered", "--json").json()
    assert {e["event"] for e in added} == {"ProxyAdded", "EndpointRegistered"}
    assert len(added) == 6 and added == [e for e in log if e["event"] in
                                         {"ProxyAdded", "EndpointRegistered"}]
    assert ready("events", "show", "999999").code == 2
    status = ready("projections", "status", "--json").json()
    assert {s["view"] for s in status} == {"proxies", "rotation", "activity", "rotation_events",
                                           "usage_stats", "breakers", "tabs",
                                           "privacy_profiles", "sessions", "rank_tracking",
                                           "schedules", "creators", "alerts"}
    rebuilt = ready("projections", "rebuild", "--json").json()
    assert rebuilt["replayed"] == len(log)
    assert all(v["position"] == len(log) for v in rebuilt["views"])
    activity = ready("query", "activity_logs", "--limit", "100", "--json").json()
    assert len(activity) == len(log)
    everything = " ".join(ready(*c).out for c in (["events", "log", "--json"],
                                                  ["query", "activity_logs", "--json"]))
    assert SECRET not in everything


def test_validate_through_real_proxies(ready: Cli) -> None:
    from scripts.fixtures.servers import echo_server, free_port, pproxy

    with echo_server() as url, pproxy("socks5", "eve", SECRET) as proxy:
        ok = ready("proxy", "add", f"socks5://eve:{SECRET}@127.0.0.1:{proxy.port}", "--json")
        dead = ready("proxy", "add", f"http://127.0.0.1:{free_port()}", "--json")
        env = {"VIPB_CHECK_URL": url, "VIPB_ALLOW_PRIVATE_TARGETS": "1"}
        one = ready("proxy", "validate", ok.json()["id"][:8], "--samples", "1", "--json", **env)
        assert one.code == 0, one.err
        assert one.json()[0]["status"] == "active" and one.json()[0]["exit_ip"] == "127.0.0.1"
        both = ready("proxy", "validate", "--all", "--timeout", "2", **env)
        assert both.code == 0, "a dead proxy is a result (issue 32, point 8)"
        assert "refused" in both.out and SECRET not in both.out
        assert both.out.rstrip().endswith("validated 2 proxies: 1 active, 1 failed (1 refused)")
        strict = ready("proxy", "validate", "--all", "--timeout", "2", "--strict", **env)
        assert strict.code == 1
        down = ready("proxy", "validate", "--all", "--timeout", "2", **{
            **env, "VIPB_CHECK_URL": f"http://127.0.0.1:{free_port()}/get"})
        assert down.code == 1 and "check" in down.err, (down.out, down.err)
    statuses = {r["id"]: r["status"] for r in ready("proxy", "list", "--json").json()}
    assert statuses == {ok.json()["id"]: "active", dead.json()["id"]: "failed"}
    refused = ready("proxy", "validate", "--all", "--check-url", "http://10.0.0.1/get")
    assert refused.code == 2 and "check_url" in refused.err


COMMANDS = [
    ["init"], ["proxy", "add"], ["proxy", "list"], ["proxy", "show"], ["proxy", "update"],
    ["proxy", "remove"], ["proxy", "import"], ["proxy", "validate"], ["rotation", "set"],
    ["rotation", "show"], ["rotation", "pick"],
    ["query"], ["events", "log"], ["events", "show"], ["projections", "rebuild"],
    ["projections", "status"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(cli: Cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.code == 0
    assert re.search(r"Example: vipb ", result.out), result.out


def test_a_restore_without_the_key_asks_for_it_and_init_never_makes_a_new_one(
        cli: Cli, tmp_path) -> None:
    assert cli("init").code == 0
    assert cli("proxy", "add", f"socks5://u:{SECRET}@127.0.0.1:1080").code == 0
    backup = tmp_path / "backup"
    assert cli("backup", "create", str(backup)).code == 0
    restored = tmp_path / "restored"
    other = {"VIPB_DATA_DIR": str(restored)}
    done = cli("backup", "restore", str(backup), "--json", **other)
    assert done.code == 0 and "vipb init` will not make" in done.json()["master_key"]
    listed = cli("proxy", "list", **other)
    assert listed.code == 1 and listed.err.count("\n") == 1
    assert "holds data but no master key was found" in listed.err
    assert "VIPB_MASTER_KEY" in listed.err and "run `vipb init`" not in listed.err
    # a backup copies the files as they are: no key needed
    again = cli("backup", "create", str(tmp_path / "again"), "--json", **other)
    assert again.code == 0, again.err
    assert again.json()["store_head"] == done.json()["store_head"] > 0
    init = cli("init", **other)
    assert init.code == 1 and "never makes a new key" in init.err
    assert not (restored / "master.key").exists(), "no new key was written"
    key = (tmp_path / "data" / "master.key").read_text().strip()
    rows = cli("proxy", "list", "--json", VIPB_MASTER_KEY=key, **other)
    assert rows.code == 0, rows.err
    assert [r["port"] for r in rows.json()] == [1080]
    assert cli("init", VIPB_MASTER_KEY=key, **other).code == 0, "init is safe with the key"


def test_several_proxies_are_removed_and_updated_at_once(ready: Cli, tmp_path: Path) -> None:
    """Issue 32, point 3: removing 1,000 dead proxies took one call (about 2 s) each."""
    lines = [f"10.9.0.{n}:3128" for n in range(1, 8)]
    (tmp_path / "p.txt").write_text("\n".join(lines) + "\n")
    assert ready("proxy", "import", str(tmp_path / "p.txt")).code == 0
    ids = [r["id"] for r in ready("proxy", "list", "--json").json()]
    tagged = ready("proxy", "update", ids[0][:8], ids[1], ids[2], "--tag", "berlin",
                   "--country", "de", "--json")
    assert tagged.code == 0, tagged.err
    assert sorted(tagged.json()["updated"]) == sorted(ids[:3])
    berlin = ready("proxy", "list", "--with-tag", "berlin", "--json").json()
    assert sorted((r["id"], r["country"]) for r in berlin) == sorted((i, "DE") for i in ids[:3])
    again = ready("proxy", "update", "--with-tag", "berlin", "--country", "DE")
    assert again.code == 0 and "updated 0 proxies, 3 unchanged, 0 failed" in again.out
    refused = ready("proxy", "update", ids[0], ids[1], "--port", "9")
    assert refused.code == 2 and refused.err.startswith("vipb: error: port: "), refused.err
    both = ready("proxy", "remove", ids[3], "--status", "unknown")
    assert both.code == 2 and "not both" in both.err
    removed = ready("proxy", "remove", ids[3], ids[4][:8], "--json")
    assert removed.code == 0 and sorted(removed.json()["removed"]) == sorted(ids[3:5])
    unconfirmed = ready("proxy", "remove", "--with-tag", "berlin")
    assert unconfirmed.code == 2 and "3 proxies match; add --yes" in unconfirmed.err
    assert len(ready("proxy", "list", "--json").json()) == 5, "nothing removed without --yes"
    gone = ready("proxy", "remove", "--with-tag", "berlin", "--yes")
    assert gone.code == 0 and "removed 3 proxies" in gone.out, gone.err
    assert [r["id"] for r in ready("proxy", "list", "--json").json()] == ids[5:]
    assert ready("proxy", "remove", "--with-tag", "berlin", "--yes").out.startswith(
        "no proxy matches")
    assert ready("proxy", "remove").code == 2


def test_global_options_may_follow_the_subcommand(ready: Cli, tmp_path: Path) -> None:
    """Issue 32, point 8: `vipb proxy list --data-dir D` was refused ("No such option")."""
    other = tmp_path / "other"
    assert ready("--data-dir", str(other), "init").code == 0
    assert ready("proxy", "add", "http://127.0.0.1:3128", "--data-dir", str(other)).code == 0
    assert ready("proxy", "list", "--json").json() == [], "the default data dir is untouched"
    [row] = ready("proxy", "list", f"--data-dir={other}", "-v", "--json").json()
    assert row["port"] == 3128
    assert ready("rank", "keyword", "add", "--data-dir", str(other), "--",
                 "--verbose").code == 0, "after --, a keyword like any other"
    [keyword] = ready("--data-dir", str(other), "rank", "keyword", "list", "--json").json()
    assert keyword["keyword"] == "--verbose"
