"""Rank metrics from real events through the real projections: the latest position per
tracked keyword x domain x engine x country x device (untracked searches and unranked
results leave no series), finished searches by outcome as a _total counter, and the cap on
series."""

from __future__ import annotations

import uuid
from typing import Any

from prometheus_client.core import CollectorRegistry
from prometheus_client.exposition import generate_latest

from domain.creator import Creator
from domain.creator_commands import AddCreator
from domain.parsing import parse_command
from domain.rank import SearchTask
from domain.rank_commands import AddDomain, AddKeyword
from service import metrics
from service.metrics import RankCollector
from service.runtime import Runtime
from tests.helpers import finished_search
from tests.pg import BOTH_STORES


def _search(rt: Runtime, keyword: str, engine: str, country: str | None,
            positions: dict[str, int | None], failed: bool = False) -> None:
    if not failed:
        rt.writer.save(finished_search(keyword, engine, country, positions))
        return
    task = SearchTask(id=uuid.uuid4(), keyword=keyword, engine=engine, country=country,
                      depth=10, domains=dict.fromkeys(positions, True), origin="manual",
                      profile="default", proxy="direct")
    task.failed(attempt=1, error="timeout", retry_in=None, reason="timeout")
    rt.writer.save(task)


def _scrape(rt: Runtime) -> dict[str, Any]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RankCollector(rt.reader))
    samples: dict[str, Any] = {}
    for family in registry.collect():
        for sample in family.samples:
            key = sample.name + "".join(f"|{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


@BOTH_STORES
def test_latest_positions_of_tracked_pairs_and_outcome_counters(runtime: Runtime) -> None:
    rt = runtime
    for domain in ("shop.example", "blog.example"):
        rt.dispatcher.execute(parse_command(AddDomain, {"domain": domain}))
    rt.dispatcher.execute(parse_command(AddKeyword, {"keyword": "coffee", "engine": "bing",
                                                     "country": "DE"}))
    _search(rt, "coffee", "bing", "DE", {"shop.example": 7, "blog.example": 3})
    _search(rt, "coffee", "bing", "DE", {"shop.example": 4, "blog.example": None})  # later
    _search(rt, "tea", "bing", "DE", {"shop.example": 1})  # not a tracked keyword
    _search(rt, "coffee", "bing", "DE", {}, failed=True)
    rt.settle()
    samples = _scrape(rt)
    positions = {k: v for k, v in samples.items() if k.startswith("vipb_rank_position|")}
    assert positions == {"vipb_rank_position|country=DE|device=desktop|domain=shop.example"
                         "|engine=bing|keyword=coffee|language=|location=": 4.0}
    assert samples["vipb_searches_total|outcome=completed"] == 3.0
    assert samples["vipb_searches_total|outcome=failed"] == 1.0
    assert samples["vipb_searches_total|outcome=cancelled"] == 0.0
    assert samples["vipb_rank_position_series_dropped"] == 0.0
    assert samples["vipb_creator_checks_total|outcome=reachable"] == 0.0
    ack = rt.dispatcher.execute(parse_command(AddCreator, {"name": "jane",
                                                           "url": "https://example.com/"}))
    creator = rt.writer.load(Creator, uuid.UUID(ack.id))
    assert creator is not None
    for reachable, reason in ((True, None), (False, "timeout"), (False, "timeout")):
        creator.record_check(reachable=reachable, reason=reason, http_status=None,
                             final_url=None, title=None, canonical_url=None,
                             fingerprint="f" if reachable else None, latency_ms=None,
                             proxy_id=None, attempts=1)
    rt.writer.save(creator)
    rt.settle()
    checks = {k: v for k, v in _scrape(rt).items() if k.startswith("vipb_creator_checks")}
    assert checks == {"vipb_creator_checks_total|outcome=reachable": 1.0,
                      "vipb_creator_checks_total|outcome=timeout": 2.0}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RankCollector(rt.reader))
    text = generate_latest(registry).decode()
    assert "# TYPE vipb_searches_total counter" in text


@BOTH_STORES
def test_series_beyond_the_cap_are_counted_not_served(runtime: Runtime,
                                                      monkeypatch: Any) -> None:
    rt = runtime
    rt.dispatcher.execute(parse_command(AddKeyword, {"keyword": "coffee", "engine": "bing"}))
    domains = [f"d{n}.example" for n in range(3)]
    for domain in domains:
        rt.dispatcher.execute(parse_command(AddDomain, {"domain": domain}))
    _search(rt, "coffee", "bing", None, dict.fromkeys(domains, 2))
    rt.settle()
    monkeypatch.setattr(metrics, "MAX_POSITION_SERIES", 2)
    samples = _scrape(rt)
    assert len([k for k in samples if k.startswith("vipb_rank_position|")]) == 2
    assert samples["vipb_rank_position_series_dropped"] == 1.0
