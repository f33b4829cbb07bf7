"""Defeating the audit trail by deletion, tried with the documented CLI: cutting events off
the end with their chain records, deleting the chain file, forging a checkpoint. Each must be
caught; a reset is possible, but only explicitly and on record."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import Cli
from tests.hosts import RunningHost


@pytest.fixture
def data(cli: Cli, tmp_path: Path) -> Path:
    assert cli("init").code == 0
    for port in (3128, 3129, 3130):
        assert cli("proxy", "add", f"http://127.0.0.1:{port}").code == 0
    return tmp_path / "data"


def _checkpoint(cli: Cli, path: Path, **env: str) -> None:
    made = cli("audit", "checkpoint", **env)
    assert made.code == 0, made.err
    line = json.loads(made.out)
    assert line["vipb_checkpoint"] == 1 and len(line["signature"]) == 128
    with open(path, "a") as f:
        f.write(made.out)


def _cut_tail(data: Path, events: int) -> None:
    """The attack: delete the last events and their chain records with plain sqlite3."""
    with sqlite3.connect(data / "events.sqlite") as conn:
        head = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
        conn.execute("DELETE FROM stored_events WHERE rowid > ?", (head - events,))
    with sqlite3.connect(data / "audit.sqlite") as conn:
        conn.execute("DELETE FROM chain WHERE notification_id > ?", (head - events,))


def test_cutting_the_tail_passes_the_chain_but_not_a_checkpoint(cli: Cli, data: Path,
                                                                tmp_path: Path) -> None:
    kept = tmp_path / "elsewhere" / "checkpoints.txt"
    kept.parent.mkdir()
    _checkpoint(cli, kept)
    _cut_tail(data, 2)
    alone = cli("audit", "verify", "--json")
    assert alone.code == 0, "the chain alone cannot see a clean cut (why checkpoints exist)"
    checked = cli("audit", "verify", "--checkpoint", str(kept), "--json")
    assert checked.code == 1, checked.out
    problem = checked.json()["problem"]
    assert problem["kind"] == "checkpoint" and "events were deleted" in problem["detail"]


def test_deleting_the_chain_file_is_an_error_until_an_explicit_reset(cli: Cli, data: Path,
                                                                    tmp_path: Path) -> None:
    kept = tmp_path / "checkpoints.txt"
    _checkpoint(cli, kept)
    (data / "audit.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (data / f"audit.sqlite{suffix}").unlink(missing_ok=True)
    first = cli("audit", "verify", "--json")
    assert first.code == 1 and first.json()["problem"]["kind"] == "chain_missing"
    assert cli("proxy", "add", "http://127.0.0.1:3131").code == 0  # commands still work...
    again = cli("audit", "verify", "--json")  # ...but nothing re-sealed the log
    assert again.code == 1 and again.json()["problem"]["kind"] == "chain_missing"
    assert again.json()["sealed_head"] == 0
    assert cli("audit", "seal").code == 2
    assert cli("audit", "checkpoint").code == 2, "no checkpoint of a chain that fails"
    status = cli("status", "--json")
    assert status.code == 1 and status.json()["health"] == "degraded"
    assert "deleted, reset or replaced" in status.json()["audit"]
    reset = cli("audit", "reset", "--reason", "audit.sqlite lost with the old disk", "--json")
    assert reset.code == 0, reset.err
    assert cli("audit", "verify").code == 0
    assert cli("status", "--json").json()["health"] == "ok"
    log = cli("events", "log", "--json").json()
    [record] = [e for e in log if e["event"] == "AuditChainReset"]
    assert record["data"]["reason"] == "audit.sqlite lost with the old disk"
    still = cli("audit", "verify", "--checkpoint", str(kept))
    assert still.code == 0, "no event before the reset was changed: old checkpoints hold"
    assert still.out.startswith("audit chain intact: ") and "consistent with 1 checkpoint" \
        in still.out, still.out


def test_a_checkpoint_signed_elsewhere_is_refused(cli: Cli, data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert cli("init", VIPB_DATA_DIR=str(other)).code == 0
    assert cli("proxy", "add", "http://127.0.0.1:3128", VIPB_DATA_DIR=str(other)).code == 0
    forged = tmp_path / "forged.txt"
    _checkpoint(cli, forged, VIPB_DATA_DIR=str(other))
    result = cli("audit", "verify", "--checkpoint", str(forged), "--json")
    assert result.code == 1 and "signature is not this data dir's" in \
        result.json()["problem"]["detail"]
    said = cli("audit", "verify", "--checkpoint", str(forged))
    assert said.code == 1 and said.out.startswith("audit chain broken")
    assert "signature is not this data dir's" in said.out and len(said.out.splitlines()) == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n")
    refused = cli("audit", "verify", "--checkpoint", str(empty))
    assert refused.code == 2 and "holds no audit checkpoint" in refused.err


def test_the_host_logs_checkpoints_that_verify(cli: Cli, data: Path, tmp_path: Path) -> None:
    host = RunningHost(data, VIPB_AUDIT_CHECKPOINT_INTERVAL="10")
    assert host.log.wait_for(lambda lines: any("audit checkpoint" in x for x in lines))
    assert host.stop() == 0
    log = tmp_path / "host.log"
    log.write_text("".join(host.log.lines))
    checked = cli("audit", "verify", "--checkpoint", str(log), "--json")
    assert checked.code == 0, checked.out
    assert checked.json()["checkpoints"] >= 2, "one at start, one at stop"


def test_verify_export_without_a_key_says_what_it_did_not_check(cli: Cli, data: Path,
                                                                tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    made = cli("audit", "export", str(export), "--json")
    assert made.code == 0, made.err
    anyone = cli("audit", "verify-export", str(export), "--json")
    assert anyone.code == 0 and anyone.json()["signer"].startswith("not checked")
    keyed = cli("audit", "verify-export", str(export), "--public-key",
                made.json()["public_key"], "--json")
    assert keyed.code == 0 and "signer" not in keyed.json()


def test_one_audit_key_signs_checkpoints_and_exports(cli: Cli, data: Path,
                                                     tmp_path: Path) -> None:
    """The key `audit key` prints is the one in every checkpoint and the one an export is
    verified against: a checkpoint's key used to answer "signed with another key"."""
    key = cli("audit", "key")
    assert key.code == 0, key.err
    public = key.out.strip()
    assert len(public) == 64 and int(public, 16) >= 0
    assert cli("audit", "key", "--json").json() == {"public_key": public,
                                                    "algorithm": "Ed25519"}
    assert json.loads(cli("audit", "checkpoint").out)["public_key"] == public
    export = tmp_path / "log.jsonl"
    written = cli("audit", "export", str(export), "--json")
    assert written.code == 0, written.err
    assert written.json()["public_key"] == public
    checked = cli("audit", "verify-export", str(export), "--public-key", public, "--json")
    assert checked.code == 0 and checked.json()["ok"] is True, checked.out
    other = cli("audit", "verify-export", str(export), "--public-key", "ab" * 32, "--json")
    assert other.code == 1 and other.json()["reason"] == "signed with another key"
