"""Crypto-shredding: removing a proxy destroys its data key; everything else keeps working."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from adapters.store import EventHistory, ShreddedEventError
from domain.commands import RemoveProxy, UpdateProxy
from domain.parsing import parse_command
from projections.activity import SHREDDED
from service.bootstrap import bootstrap
from service.runtime import Runtime
from tests.helpers import add_cmd, dump_views
from tests.pg import BOTH_STORES, raw_connection, stored_containing


def wrapped_key(data_dir: Path, proxy_id: str) -> bytes | None:
    conn = raw_connection(data_dir, "keys")
    row = conn.execute("SELECT wrapped FROM data_keys WHERE aggregate_id=?",
                       (uuid.UUID(proxy_id).hex,)).fetchone()
    conn.close()
    return bytes(row[0]) if row else None


@pytest.fixture
def shredded(runtime: Runtime, data_dir: Path) -> tuple[str, str, bytes]:
    """Two proxies; the first gets updated then removed. Returns (gone id, kept id, old key)."""
    gone = runtime.dispatcher.execute(add_cmd(3128, "gone-user", "gone-pass"))
    kept = runtime.dispatcher.execute(add_cmd(3129, "kept-user", "kept-pass"))
    runtime.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": gone.id, "weight": 7}))
    runtime.settle()  # the projection has seen the proxy before it is shredded
    key = wrapped_key(data_dir, gone.id)
    assert key is not None
    runtime.dispatcher.execute(parse_command(RemoveProxy, {"proxy_id": gone.id}))
    runtime.settle()
    return gone.id, kept.id, key


@BOTH_STORES
def test_key_bytes_are_gone_from_every_file(shredded: tuple[str, str, bytes],
                                            data_dir: Path) -> None:
    gone, _, key = shredded
    assert wrapped_key(data_dir, gone) is None
    assert stored_containing(data_dir, key) == []


@BOTH_STORES
def test_credential_events_no_longer_decode_but_the_removal_does(
    shredded: tuple[str, str, bytes], runtime: Runtime
) -> None:
    gone, kept, _ = shredded
    notes = runtime.app.recorder.select_notifications(start=1, limit=100)
    mine = [n for n in notes if str(n.originator_id) == gone]
    assert [n.topic.rsplit(".", 1)[-1] for n in mine] == ["ProxyAdded", "ProxyUpdated",
                                                           "ProxyRemoved"]
    for note in mine[:2]:
        with pytest.raises(ShreddedEventError):
            runtime.app.shredding_mapper.decode_state(note)
    assert runtime.app.shredding_mapper.decode_state(mine[2])["reason"] == "removed by user"
    # a fresh process (no cache) cannot read them either, with the same master key
    with bootstrap(runtime.paths.root) as fresh:
        entries = [e for e in EventHistory(fresh.app).log(limit=100) if e.aggregate_id == gone]
        assert [e.readable for e in entries] == [False, False, True]
        assert fresh.pool.proxy_ids().get() == [kept]
        kept_proxy = fresh.app.repository.get(uuid.UUID(kept))
        assert kept_proxy.password == "kept-pass"


@BOTH_STORES
def test_read_models_forget_the_proxy_and_rebuild_matches(
    shredded: tuple[str, str, bytes], runtime: Runtime
) -> None:
    gone, kept, _ = shredded
    incremental = dump_views(runtime)
    assert [row[0] for row in incremental["proxies"]] == [kept]
    gone_lines = [row for row in incremental["activity_logs"] if row[2] == gone]
    assert len(gone_lines) == 3
    assert [r[4] for r in gone_lines[:2]] == [SHREDDED, SHREDDED]
    assert all(b"gone" not in repr(r).encode() for r in incremental["activity_logs"])
    replayed = runtime.runner.rebuild()
    assert replayed == runtime.app.recorder.max_notification_id()
    assert dump_views(runtime) == incremental
    skipped = {s.view: s.skipped for s in runtime.runner.status()}
    assert skipped == {"proxies": 2, "rotation": 0, "activity": 2, "rotation_events": 0,
                       "usage_stats": 0, "breakers": 0, "tabs": 0, "privacy_profiles": 0,
                       "sessions": 0, "rank_tracking": 0, "schedules": 0, "creators": 0,
                       "alerts": 0}


@BOTH_STORES
def test_removed_proxy_cannot_be_changed(shredded: tuple[str, str, bytes],
                                         runtime: Runtime) -> None:
    from domain.errors import ProxyNotFoundError

    gone, _, _ = shredded
    with pytest.raises(ProxyNotFoundError):
        runtime.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": gone, "port": 1}))
    with pytest.raises(ProxyNotFoundError):
        runtime.dispatcher.execute(parse_command(RemoveProxy, {"proxy_id": gone}))
