"""Digests of schedule runs (issue 33, point 4), on a real runtime and store: runs recorded
as the scheduler and the search worker record them, the digest delivered to a real webhook
receiver and through a real SMTP server (aiosmtpd) once the run's last search is over, with
the movement since the run before, sparklines, and nothing sent twice after a rebuild."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pykka
import pytest

from scripts.fixtures.servers import WebhookReceiver, loopback_tls, smtp_server
from service.runtime import Runtime
from tests.helpers import call, open_runtime, record_outcome, record_run, refuse
from tests.pg import BOTH_STORES

SECRET = "correct-horse-battery-staple-42"
FAST = {"alert_retry_initial": 0.0, "alert_retry_max": 0.0, "alert_attempts": 2}


@pytest.fixture
def rt(data_dir: Path) -> Iterator[Runtime]:
    runtime = open_runtime(data_dir, **FAST)
    yield runtime
    runtime.close()
    pykka.ActorRegistry.stop_all()


def schedule(rt: Runtime, name: str = "mornings") -> str:
    made = call(rt, "automation:schedule", name=name, cron="0 6 * * *")
    return str(made["id"])


def digests(rt: Runtime) -> list[dict[str, Any]]:
    """The digests raised, once what is due now is delivered."""
    rt.settle()
    assert rt.courier.drain(30)
    rt.settle()
    return [a for a in call(rt, "alerts:history", limit=100) if a["kind"] == "digest"]


@BOTH_STORES
def test_a_run_s_digest_is_sent_once_its_last_search_is_over(
        rt: Runtime, hook: WebhookReceiver) -> None:
    schedule_id = schedule(rt)
    call(rt, "alerts:add-rule", name="daily", kind="digest", schedule="MORNINGS",
         webhook_url=f"{hook.url}/digest", secret=SECRET)
    record_run(rt, schedule_id, {"coffee": 5, "tea": None, "milk": "failed"})
    first = digests(rt)
    assert len(first) == 1 and first[0]["state"] == "delivered"
    record_run(rt, schedule_id, {"coffee": 2, "tea": 7, "milk": 9, "juice": None})
    assert hook.wait_for(2)
    assert len(digests(rt)) == 2
    assert all(d.signed_with(SECRET) for d in hook.deliveries)
    body = hook.deliveries[1].json()
    subject = body["subject"]
    assert body["kind"] == "digest" and body["rule"] == "daily"
    assert subject["schedule"] == "mornings"  # as the schedule spells it
    assert (subject["searches"], subject["failed"], subject["cancelled"]) == (4, 0, 0)
    rows = {r["keyword"]: r for r in subject["rows"]}
    assert {k: (r["previous"], r["latest"], r["movement"]) for k, r in rows.items()} == {
        "coffee": (5, 2, "+3"), "tea": (None, 7, "entered"), "milk": (None, 9, "new"),
        "juice": (None, None, "")}
    assert [p for _, p in rows["coffee"]["recent"]] == [5, 2]
    assert [r["keyword"] for r in subject["rows"]][:2] == ["tea", "coffee"]  # moves first
    summary = subject["summary"]
    assert (summary["pairs"], summary["improved"], summary["entered"], summary["new"],
            summary["not_ranked"]) == (4, 1, 1, 1, 1)
    assert body["message"].startswith("mornings: 4 keyword x domain pair(s): 1 up, 1 entered")
    first_body = hook.deliveries[0].json()
    assert first_body["subject"]["failed_searches"] == ["milk on bing"]
    assert first_body["message"].endswith("; 1 search(es) failed")


@BOTH_STORES
def test_nothing_is_sent_before_the_run_is_over_nor_twice_after_a_rebuild(
        rt: Runtime, hook: WebhookReceiver) -> None:
    schedule_id = schedule(rt)
    call(rt, "alerts:add-rule", name="daily", kind="digest", schedule="mornings",
         webhook_url=hook.url, secret=SECRET)
    record_outcome(rt, 3, keyword="coffee")  # a search of no run: no digest
    assert digests(rt) == []
    record_run(rt, schedule_id, {"coffee": 1})
    [alert] = digests(rt)
    call(rt, "projections:rebuild")
    rt.settle()
    assert digests(rt) == [alert]
    assert len(hook.deliveries) == 1


def test_a_digest_rule_sees_only_what_it_names(rt: Runtime, hook: WebhookReceiver) -> None:
    schedule_id = schedule(rt)
    other_id = schedule(rt, "evenings")
    call(rt, "alerts:add-rule", name="daily", kind="digest", schedule="mornings",
         domain="shop.example", webhook_url=hook.url, secret=SECRET)
    record_run(rt, other_id, {"coffee": 1}, domain="shop.example")
    assert digests(rt) == []  # another schedule's run
    record_run(rt, schedule_id, {"coffee": 4}, domain="example.com")
    assert digests(rt) == []  # nothing the rule watches was searched: nothing to say
    record_run(rt, schedule_id, {"tea": 2, "milk": "failed"}, domain="shop.example")
    record_run(rt, schedule_id, {"milk": "failed"}, domain="shop.example")
    assert hook.wait_for(2)
    subjects = sorted((d.json()["subject"] for d in hook.deliveries),
                      key=lambda s: len(s["rows"]))
    assert [[r["keyword"] for r in s["rows"]] for s in subjects] == [[], ["tea"]]
    assert [s["failed_searches"] for s in subjects] == [["milk on bing"]] * 2


def test_a_digest_rule_is_refused_without_a_known_schedule(rt: Runtime) -> None:
    schedule(rt)
    base = {"kind": "digest", "email": "seo@example.com"}
    assert refuse(rt, "alerts:add-rule", name="d", **base) == (
        "schedule: a digest rule names the schedule it sums up")
    assert refuse(rt, "alerts:add-rule", name="d", schedule="nightly", **base) == (
        "schedule: no schedule named 'nightly' (see `vipb schedule list`)")
    assert refuse(rt, "alerts:add-rule", name="d", schedule="mornings", threshold=3,
                  **base) == "threshold: digest takes none"
    assert refuse(rt, "alerts:add-rule", name="d", kind="starts-ranking", schedule="mornings",
                  email="seo@example.com").startswith("schedule: only digest rules")
    assert call(rt, "alerts:list-rules", include_removed=True) == []


def test_a_digest_mail_has_a_table_with_sparklines_inline(rt: Runtime, tmp_path: Path) -> None:
    ca, tls = loopback_tls(tmp_path / "tls")
    schedule_id = schedule(rt)
    with smtp_server(tls) as (port, mail):
        call(rt, "alerts:set-mail-server", host="127.0.0.1", port=port, username="vipb",
             password="mail-pass-1234", sender="vipb@example.com", ca_file=str(ca))
        call(rt, "alerts:add-rule", name="daily", kind="digest", schedule="mornings",
             email="seo@example.com")
        hostile = "<img src=x onerror=alert(1)> beans"
        record_run(rt, schedule_id, {"coffee": 8, hostile: 3, "tea": 2})
        record_run(rt, schedule_id, {"coffee": 4, hostile: 3, "tea": None})
        assert mail.wait_for(2)
    [message] = [m for m in (email.message_from_bytes(sent["content"],
                                                      policy=email.policy.default)
                             for sent in mail.messages) if "1 up" in m["Subject"]]
    assert isinstance(message, EmailMessage)
    assert message["Subject"].startswith("[vipb] mornings: 3 keyword x domain pair(s): 1 up")
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    lines = {line.split(" on bing")[0]: line.split() for line in plain.splitlines()
             if " on bing " in line}
    assert lines["coffee"][-4:] == ["example.com", "#4", "+4", "▃▆"], plain  # #8 -> #4
    assert lines["tea"][-5:] == ["example.com", "not", "ranked", "lost", "▇·"], plain
    page = html.get_content()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; beans" in page
    cids = {part["Content-ID"].strip("<>"): part.get_content()
            for part in message.walk() if part.get_content_type() == "image/png"}
    referenced = [cid for cid in cids if f'src="cid:{cid}"' in page]
    assert len(referenced) == len(cids) == 3  # one image per distinct line, each used
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in cids.values())
    assert "http://" not in page and "https://" not in page  # nothing to fetch
