"""Alerts from real searches (Chromium, the local engine): a position change found by `vipb
rank run` reaches a webhook receiver, without a host (the CLI process delivers it before it
exits) and through a running host."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from scripts.fixtures.serp_site import SerpSite
from scripts.fixtures.servers import WebhookReceiver
from tests.helpers import HAVE_CHROMIUM, Cli
from tests.hosts import RunningHost

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not HAVE_CHROMIUM and not os.environ.get("CI"),
    reason="no Chromium (apt-get install chromium)")]
SECRET = "a-webhook-secret-of-32-characters"




def _env(site: SerpSite) -> dict[str, str]:
    return {"VIPB_ENGINE_URLS": json.dumps(site.engine_urls()),
            "VIPB_ALLOW_PRIVATE_TARGETS": "true", "VIPB_SEARCH_RETRY_INITIAL": "0.01"}


def _prepare(cli: Cli, tmp_path: Path, hook: WebhookReceiver, env: dict[str, str]) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    assert cli("rank", "domain", "add", "target.example").code == 0
    added = cli("alert", "add", "climb", "moves", "1", "--domain", "target.example",
                "--webhook", hook.url, "--secret-file", str(secret), **env)
    assert added.code == 0, added.err


def test_a_move_found_by_rank_run_reaches_the_webhook_without_a_host(
        cli: Cli, tmp_path: Path, engine_site: SerpSite, hook: WebhookReceiver) -> None:
    assert cli("init").code == 0
    env = _env(engine_site)
    _prepare(cli, tmp_path, hook, env)
    engine_site.results["tea"] = ["https://a.example/", "https://www.target.example/tea"]
    assert cli("rank", "run", "-k", "tea", "--proxy", "direct", **env).code == 0
    assert hook.deliveries == [], "a first position is no move"
    engine_site.results["tea"] = ["https://www.target.example/tea"]
    ran = cli("rank", "run", "-k", "tea", "--proxy", "direct", **env)
    assert ran.code == 0, ran.err
    [delivery] = hook.deliveries  # delivered before the command returned
    assert delivery.signed_with(SECRET)
    assert delivery.json()["message"] == ("target.example moved up 1 place for 'tea' on "
                                          "duckduckgo: #2 -> #1")
    [alert] = cli("alert", "history", "--json").json()
    assert alert["state"] == "delivered" and alert["id"] == delivery.json()["id"]


def test_a_move_found_in_the_host_reaches_the_webhook(
        cli: Cli, tmp_path: Path, engine_site: SerpSite, hook: WebhookReceiver) -> None:
    assert cli("init").code == 0
    env = _env(engine_site)
    host = RunningHost(tmp_path / "data", **env)
    try:
        _prepare(cli, tmp_path, hook, env)
        engine_site.results["tea"] = ["https://www.target.example/tea"]
        assert cli("rank", "run", "-k", "tea", "--proxy", "direct").code == 0
        engine_site.results["tea"] = ["https://a.example/", "https://b.example/",
                                      "https://www.target.example/tea"]
        assert cli("rank", "run", "-k", "tea", "--proxy", "direct").code == 0
        assert hook.wait_for(1)
        assert hook.deliveries[0].json()["message"] == (
            "target.example moved down 2 places for 'tea' on duckduckgo: #1 -> #3")
    finally:
        host.stop(signal.SIGTERM)
    assert len(hook.deliveries) == 1


def test_a_schedule_run_sends_its_digest_once_its_searches_are_over(
        cli: Cli, tmp_path: Path, engine_site: SerpSite, hook: WebhookReceiver) -> None:
    """Issue 33, point 4: `schedule add --digest` and a real run (Chromium, the local
    engine): one signed digest per run, with the movement since the run before."""
    assert cli("init").code == 0
    env = _env(engine_site)
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    assert cli("rank", "domain", "add", "target.example").code == 0
    for keyword in ("tea", "coffee"):
        assert cli("rank", "keyword", "add", keyword).code == 0
    made = cli("schedule", "add", "mornings", "--cron", "0 6 * * *", "--proxy", "direct",
               "--digest", hook.url, "--digest-secret-file", str(secret), **env)
    assert made.code == 0, made.err
    engine_site.results["tea"] = ["https://a.example/", "https://www.target.example/tea"]
    engine_site.results["coffee"] = ["https://a.example/"]
    assert cli("schedule", "run-now", "mornings", **env).code == 0
    engine_site.results["tea"] = ["https://www.target.example/tea"]
    engine_site.results["coffee"] = ["https://b.example/", "https://www.target.example/c"]
    ran = cli("schedule", "run-now", "mornings", **env)
    assert ran.code == 0, ran.err
    assert hook.wait_for(2)
    assert all(d.signed_with(SECRET) for d in hook.deliveries)
    [second] = [d.json() for d in hook.deliveries if "1 up" in d.json()["message"]]
    assert second["kind"] == "digest" and second["rule"] == "mornings-digest"
    rows = {r["keyword"]: (r["previous"], r["latest"], r["movement"])
            for r in second["subject"]["rows"]}
    assert rows == {"tea": (2, 1, "+1"), "coffee": (None, 2, "entered")}
    assert second["message"].startswith("mornings: 2 keyword x domain pair(s): 1 up, "
                                        "1 entered")
