"""Alerts through the real console script: rules added with a secret from a file, listed
without their secrets, tested against a real webhook receiver and SMTP configuration shown
without its password; bad input is one line naming the field and writes nothing."""

from __future__ import annotations

from pathlib import Path

from scripts.fixtures.servers import webhook_receiver
from tests.helpers import Cli, files_containing

SECRET = "a-webhook-secret-of-32-characters"
TOKEN = "hook-token-5b1c"
PRIVATE = {"VIPB_ALLOW_PRIVATE_TARGETS": "true"}


def test_a_webhook_rule_is_added_tested_listed_and_removed(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    secret_file = tmp_path / "hook.secret"
    secret_file.write_text(SECRET + "\n")
    with webhook_receiver() as hook:
        url = f"{hook.url}/{TOKEN}"
        added = cli("alert", "add", "top10", "enters-top", "10", "--domain", "Example.COM",
                    "--webhook", url, "--secret-file", str(secret_file), **PRIVATE)
        assert added.code == 0, added.err
        host = url.split("/")[2]
        assert added.out == f"alert rule top10 added: enters-top 10, sent to a webhook at " \
                            f"{host}\n"
        tested = cli("alert", "test", "top10", **PRIVATE)
        assert tested.code == 0, tested.err
        assert tested.out == f"test alert delivered to http://{host}/... (webhook)\n"
        [delivery] = hook.deliveries
    assert delivery.signed_with(SECRET) and delivery.path == f"/hook/{TOKEN}"
    assert delivery.json()["kind"] == "test" and delivery.json()["rule"] == "top10"
    listed = cli("alert", "list")
    assert listed.code == 0 and "top10" in listed.out and TOKEN not in listed.out
    [rule] = cli("alert", "list", "--json").json()
    assert (rule["kind"], rule["threshold"], rule["filters"], rule["channel"], rule["alerts"],
            rule["delivered"]) == ("enters-top", 10, {"domain": "example.com"}, "webhook", 1, 1)
    [alert] = cli("alert", "history", "--rule", "TOP10", "--json").json()
    assert alert["state"] == "delivered" and alert["id"] == delivery.json()["id"]
    events = cli("events", "log", "--json")
    assert events.code == 0 and "AlertRuleAdded" in events.out
    assert TOKEN not in events.out and SECRET not in events.out
    assert cli("alert", "remove", "top10").out == \
        "alert rule top10 removed (its alerts stay on record)\n"
    assert cli("alert", "list", "--json").json() == []
    assert [r["state"] for r in cli("alert", "list", "--all", "--json").json()] == ["removed"]
    assert files_containing(tmp_path / "data", SECRET.encode()) == []
    assert files_containing(tmp_path / "data", TOKEN.encode()) == []


def test_bad_alert_input_is_one_line_naming_the_field(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    good, short, empty = (tmp_path / n for n in ("good", "short", "empty"))
    good.write_text(SECRET)
    short.write_text("too-short\n")
    empty.write_text("\n")
    hook = ["--webhook", "https://hooks.example.com/x"]
    for args, start in [
        (("enters-top", "--email", "a@example.com"), "threshold: enters-top needs one"),
        (("stops-ranking", "3", "--email", "a@example.com"), "threshold: stops-ranking takes"),
        (("sideways", "--email", "a@example.com"), "kind: "),
        (("moves", "0", "--email", "a@example.com"), "threshold: "),
        (("stops-ranking", *hook), "secret: a webhook needs a signing secret"),
        (("stops-ranking", *hook, "--secret-file", str(short)), "secret: must be 16 to 256"),
        (("stops-ranking", *hook, "--secret-file", str(empty)), "secret: "),
        (("stops-ranking", *hook, "--secret-file", str(tmp_path / "nope")), "secret: cannot "),
        (("stops-ranking", "--email", "a@example.com", *hook, "--secret-file", str(good)),
         "webhook_url: give either"),
        (("stops-ranking",), "webhook_url: give either"),
        (("stops-ranking", "--email", "not an address"), "email: "),
        (("stops-ranking", "--email", "a@example.com\r\nBcc: x@evil.example"), "email: "),
        (("unreachable", "--domain", "example.com", "--email", "a@example.com"), "domain: "),
        (("stops-ranking", "--creator", "jane", "--email", "a@example.com"), "creator: "),
        (("stops-ranking", "--webhook", "http://127.0.0.1:9/x", "--secret-file", str(good)),
         "webhook_url: "),
        (("stops-ranking", "--webhook", "ftp://example.com/x", "--secret-file", str(good)),
         "webhook_url: "),
    ]:
        result = cli("alert", "add", "r", *args)
        assert result.code == 2, (args, result.out)
        assert result.err.startswith("vipb: error: " + start), (args, result.err)
        assert result.err.count("\n") == 1, result.err
    assert cli("alert", "list", "--json").json() == []
    for args, start in [(("remove", "nobody"), "name: no alert rule named 'nobody'"),
                        (("test", "nobody"), "name: no alert rule named 'nobody'"),
                        (("history", "--rule", "nobody"), "rule: no alert rule named")]:
        result = cli("alert", *args)
        assert result.code == 2 and result.err.startswith("vipb: error: " + start), result.err


def test_the_mail_server_is_set_from_stdin_and_shown_without_its_password(cli: Cli) -> None:
    assert cli("init").code == 0
    assert cli("alert", "smtp", "show").out == "no mail server set (vipb alert smtp set " \
                                               "--help)\n"
    password = "smtp-pass-83jd"
    result = cli("alert", "smtp", "set", "--host", "smtp.example.com", "--from",
                 "vipb@example.com", "--username", "vipb", "--password-stdin",
                 input=password + "\n")
    assert result.code == 0 and result.out == "mail server set: smtp.example.com:587 " \
                                              "(starttls)\n", result.err
    shown = cli("alert", "smtp", "show", "--json").json()
    assert shown == {"configured": True, "host": "smtp.example.com", "port": 587,
                     "security": "starttls", "login": True, "sender": "vipb@example.com",
                     "ca_file": None}
    assert password not in cli("alert", "smtp", "show").out
    assert password not in cli("events", "log", "--json").out
    bad = cli("alert", "smtp", "set", "--host", "smtp.example.com", "--from", "x",
              "--security", "none")
    assert bad.code == 2 and bad.err.startswith("vipb: error: "), bad.err


def test_a_schedule_is_added_with_its_digest_or_not_at_all(cli: Cli, tmp_path: Path) -> None:
    assert cli("init").code == 0
    secret_file = tmp_path / "hook.secret"
    secret_file.write_text(SECRET + "\n")
    cron = ["--cron", "0 6 * * *", "--timezone", "Europe/Berlin"]
    refused = cli("schedule", "add", "mornings", *cron, "--digest", "not-an-address")
    assert refused.code == 2 and refused.err.count("\n") == 1 and "email" in refused.err
    refused = cli("schedule", "add", "mornings", *cron, "--digest",
                  "https://hooks.example.com/x")  # a webhook without its secret
    assert refused.code == 2 and refused.err.startswith("vipb: error: secret:"), refused.err
    assert cli("schedule", "list", "--json").json() == []  # nothing was written
    assert cli("alert", "list", "--json").json() == []
    made = cli("schedule", "add", "mornings", *cron, "--digest",
               f"https://hooks.example.com/{TOKEN}", "--digest-secret-file", str(secret_file),
               "--json")
    assert made.code == 0, made.err
    assert made.json()["digest"] == {"rule": "mornings-digest",
                                     "sent_to": "a webhook at hooks.example.com"}
    [rule] = cli("alert", "list", "--json").json()
    assert (rule["name"], rule["kind"], rule["filters"]) == (
        "mornings-digest", "digest", {"schedule": "mornings"})
    added = cli("alert", "add", "weekly", "digest", "--schedule", "MORNINGS", "--email",
                "seo@example.com")
    assert added.out == "alert rule weekly added: digest of schedule MORNINGS, sent to " \
                        "seo@example.com\n", added.err
    unknown = cli("alert", "add", "x", "digest", "--schedule", "nightly", "--email",
                  "seo@example.com")
    assert unknown.code == 2 and unknown.err == (
        "vipb: error: schedule: no schedule named 'nightly' (see `vipb schedule list`)\n")
    assert TOKEN not in cli("alert", "list").out
