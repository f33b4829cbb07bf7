"""The audit hash chain against real tampering of the store: edit, delete, insert and
reorder rows with a plain connection (sqlite3 on the file, psycopg on the PostgreSQL
schema), then `verify` must name the first affected event."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pykka
import pytest

from adapters.store import ShreddedEventError, export_events, verify_export
from domain.commands import AddProxy, UpdateProxy
from domain.parsing import parse_command
from projections.replay import replay
from service.bootstrap import bootstrap
from service.runtime import EventReader
from tests.pg import BOTH_STORES, events_table, raw_connection


@pytest.fixture
def sealed_dir(data_dir: Path) -> Path:
    """A data dir with 12 events and the chain on record (AuditChainStarted, the 13th), all
    sealed (the runtime seals when it closes)."""
    rt = bootstrap(data_dir)
    ids = [rt.dispatcher.execute(parse_command(AddProxy, {
        "protocol": "http", "host": "127.0.0.1", "port": 4000 + n})).id for n in range(4)]
    for n, proxy_id in enumerate(ids):
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                          "weight": n + 5}))
    rt.close()
    pykka.ActorRegistry.stop_all()
    return data_dir


def verify(root: Path) -> dict:
    reader = EventReader(root)
    try:
        return reader.audit.verify(reader.app.recorder).as_dict()
    finally:
        reader.close()


def tamper(root: Path, change: Callable[[Any, str, str], None]) -> None:
    """Run ``change(connection, events table, notification id column)`` in one transaction,
    as someone with write access to the database would."""
    conn = raw_connection(root, "events")
    try:
        conn.execute("BEGIN")
        change(conn, *events_table())
        conn.execute("COMMIT")
    finally:
        conn.close()


@BOTH_STORES
def test_untouched_log_verifies(sealed_dir: Path) -> None:
    assert verify(sealed_dir) == {"ok": True, "checked": 13, "sealed_head": 13,
                                  "store_head": 13, "unsealed": 0, "problem": None}


def _edit(conn: Any, t: str, n: str) -> None:
    (state,) = conn.execute(f"SELECT state FROM {t} WHERE {n}=5").fetchone()
    conn.execute(f"UPDATE {t} SET state=? WHERE {n}=5",
                 (bytes(state[:-1]) + bytes([state[-1] ^ 1]),))


def _delete(conn: Any, t: str, n: str) -> None:
    conn.execute(f"DELETE FROM {t} WHERE {n}=5")


def _delete_and_renumber(conn: Any, t: str, n: str) -> None:
    conn.execute(f"DELETE FROM {t} WHERE {n}=5")
    for (rowid,) in conn.execute(f"SELECT {n} FROM {t} WHERE {n}>5 ORDER BY {n}").fetchall():
        conn.execute(f"UPDATE {t} SET {n}=? WHERE {n}=?", (rowid - 1, rowid))


def _reorder(conn: Any, t: str, n: str) -> None:
    conn.execute(f"UPDATE {t} SET {n}=1000 WHERE {n}=5")
    conn.execute(f"UPDATE {t} SET {n}=5 WHERE {n}=6")
    conn.execute(f"UPDATE {t} SET {n}=6 WHERE {n}=1000")


def _insert(conn: Any, t: str, n: str) -> None:
    for (rowid,) in conn.execute(f"SELECT {n} FROM {t} WHERE {n}>=5 "
                                 f"ORDER BY {n} DESC").fetchall():
        conn.execute(f"UPDATE {t} SET {n}=? WHERE {n}=?", (rowid + 1, rowid))
    oid, topic, state = conn.execute(f"SELECT originator_id, topic, state FROM {t} "
                                     f"WHERE {n}=1").fetchone()
    conn.execute(f"INSERT INTO {t} ({n}, originator_id, originator_version, topic, "
                 "state) VALUES (5, ?, 999, ?, ?)", (oid, topic, state))


@pytest.mark.parametrize(("change", "kind"), [
    (_edit, "altered"), (_delete, "deleted"), (_delete_and_renumber, "deleted"),
    (_reorder, "reordered"), (_insert, "inserted")])
@BOTH_STORES
def test_tampering_is_found_at_the_first_affected_event(sealed_dir: Path, change, kind) -> None:
    tamper(sealed_dir, change)
    report = verify(sealed_dir)
    assert report["ok"] is False
    assert (report["problem"]["kind"], report["problem"]["notification_id"]) == (kind, 5)
    assert report["checked"] == 4  # everything before it still verifies


@BOTH_STORES
def test_rewriting_the_audit_file_is_found(sealed_dir: Path) -> None:
    conn = raw_connection(sealed_dir, "audit")
    conn.execute("UPDATE chain SET digest=? WHERE notification_id=3", (bytes(32),))
    conn.close()
    report = verify(sealed_dir)
    assert (report["problem"]["kind"], report["problem"]["notification_id"]) == (
        "audit_altered", 3)


@BOTH_STORES
def test_new_events_are_reported_until_sealed(sealed_dir: Path) -> None:
    rt = bootstrap(sealed_dir)
    rt.dispatcher.execute(parse_command(AddProxy, {"protocol": "socks5", "host": "10.0.0.1",
                                                   "port": 1080}))
    report = rt.audit.verify(rt.app.recorder).as_dict()
    assert (report["ok"], report["unsealed"]) == (True, 2)
    rt.close()  # seals
    pykka.ActorRegistry.stop_all()
    assert verify(sealed_dir)["unsealed"] == 0


@BOTH_STORES
def test_signed_export_verifies_and_detects_edits(sealed_dir: Path, tmp_path: Path) -> None:
    reader = EventReader(sealed_dir)
    out = tmp_path / "export.jsonl"
    try:
        with open(out, "wb") as f:
            trailer = export_events(reader.app, reader.audit_key, f)
    finally:
        reader.close()
    assert trailer["events"] == 13
    assert verify_export(out, trailer["public_key"])["ok"] is True
    lines = out.read_bytes().splitlines(keepends=True)
    edited = tmp_path / "edited.jsonl"
    edited.write_bytes(lines[0].replace(b'"version": 1', b'"version": 2') + b"".join(lines[1:]))
    assert verify_export(edited)["ok"] is False
    assert verify_export(out, "00" * 32)["reason"] == "signed with another key"


@BOTH_STORES
def test_replay_until_builds_the_past_into_another_file(sealed_dir: Path,
                                                        tmp_path: Path) -> None:
    reader = EventReader(sealed_dir)
    out = tmp_path / "past.sqlite"
    try:
        assert replay(reader.app.recorder, reader.app.shredding_mapper.decode_state,
                      ShreddedEventError, 4, out) == 4
    finally:
        reader.close()
    conn = sqlite3.connect(out)
    assert conn.execute("SELECT COUNT(*), MAX(weight) FROM proxies").fetchone() == (2, 1)
    conn.close()


@BOTH_STORES
def test_many_checkpoints_are_checked_in_one_pass_and_the_first_broken_one_named(
        sealed_dir: Path) -> None:
    """Checkpoints from a host's log, in any order: each compared as the recomputed chain
    passes its position; an event changed between two of them fails the later one only."""
    from adapters.store import check_checkpoints, make_checkpoint
    from adapters.store._audit import chained
    from service.runtime import checkpoint_key, master_key_for

    key = checkpoint_key(master_key_for(sealed_dir))
    reader = EventReader(sealed_dir)
    try:
        chains = {note.id: chain for note, _dig, chain in chained(reader.app.recorder)}
        made = {n: make_checkpoint(n, chains[n], key) for n in (4, 8, 13)}
        shuffled = [made[13], made[4], made[8]]
        assert check_checkpoints(shuffled, key.public_key(), reader.app.recorder) is None
    finally:
        reader.close()
    tamper(sealed_dir, _edit)  # changes event 5
    reader = EventReader(sealed_dir)
    try:
        failed = check_checkpoints(shuffled, key.public_key(), reader.app.recorder)
    finally:
        reader.close()
    assert failed is not None and failed[0] is made[8], failed
    assert "events were changed" in failed[1]
