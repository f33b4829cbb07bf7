"""``vipb audit ...`` and ``vipb events replay``: verify, seal, export, replay the log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from adapters import store as event_store  # its parts load when a command uses them
from adapters.config import DataPaths
from adapters.store import parse_since as parse_time
from domain.errors import ValidationError
from entrypoints.cli.context import state
from entrypoints.cli.files import own_folder, replacing
from entrypoints.cli.output import emit, with_progress
from projections.replay import position_at, replay

if TYPE_CHECKING:
    from service.runtime import EventReader

app = typer.Typer(help="Tamper evidence for the event log.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _reader(ctx: typer.Context) -> EventReader:
    """Read-side access (works beside a running host: it only reads the files)."""
    from service.runtime import EventReader  # see context.py: the runtime on first use

    return EventReader(state(ctx).data_dir, state(ctx).settings)


@app.command("verify")
def verify(
    ctx: typer.Context,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A file holding checkpoints (from `vipb audit checkpoint` "
                                   "or the host's log): the log must still extend each."),
    as_json: bool = JSON,
) -> None:
    """Recompute the hash chain over the event log and report the first altered, deleted,
    inserted or reordered event, or a missing or reset chain. With --checkpoint, also check
    that the log still extends checkpoints kept outside the data dir (which catches events
    cut off the end together with their chain records). Exit code 1 when the log was
    tampered with.

    Example: vipb audit verify --checkpoint ~/vipb-checkpoints.txt --json
    """
    found = _checkpoints(checkpoint) if checkpoint is not None else []
    reader = _reader(ctx)
    try:
        report = with_progress("verifying", reader.auditor.verify, as_json).as_dict()
        if checkpoint is not None:
            report["checkpoints"] = len(found)
            failed = reader.auditor.check(found)
            if failed is not None:
                item, problem = failed
                report["ok"] = False
                report["problem"] = report["problem"] or {
                    "kind": "checkpoint", "notification_id": item.get("position"),
                    "detail": problem}
    finally:
        reader.close()
    emit(report, as_json, said=_verdict(report))
    if not report["ok"]:
        raise typer.Exit(1)


def _verdict(report: dict[str, Any]) -> str:
    """``audit verify``'s answer as a sentence."""
    if report["ok"]:
        unsealed = (f"; {report['unsealed']} newer event(s) not sealed yet"
                    if report.get("unsealed") else "")
        against = (f", consistent with {report['checkpoints']} checkpoint(s)"
                   if report.get("checkpoints") else "")
        return (f"audit chain intact: {report['checked']} event(s) checked up to "
                f"{report['sealed_head']} of {report['store_head']}{against}{unsealed}")
    problem = report.get("problem") or {}
    at = problem.get("notification_id")
    return (f"audit chain broken{f' at event {at}' if at is not None else ''}: "
            f"{problem.get('kind', 'problem')}: {problem.get('detail', '')}").rstrip(": ")


def _checkpoints(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValidationError(f"cannot read {path} ({exc.strerror or exc})",
                              field="checkpoint") from None
    found = event_store.read_checkpoints(text)
    if not found:
        raise ValidationError(f"{path} holds no audit checkpoint", field="checkpoint")
    return found


@app.command("checkpoint")
def checkpoint_cmd(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Print a signed checkpoint of the audit chain's head (one JSON line): keep it outside
    the data dir, then `vipb audit verify --checkpoint FILE` proves the log still extends it.
    The host writes one to its log every VIPB_AUDIT_CHECKPOINT_INTERVAL seconds.

    Example: vipb audit checkpoint >> ~/vipb-checkpoints.txt
    """
    reader = _reader(ctx)
    try:
        made = reader.auditor.checkpoint()
    finally:
        reader.close()
    if as_json:
        emit(made, True)
    else:
        typer.echo(json.dumps(made, sort_keys=True))


@app.command("key")
def key_cmd(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Print the public half of the data dir's audit key (hex): it signs the checkpoints
    (`audit checkpoint`, the host's log) and the exports (`audit export`). Keep it outside
    the data dir, and pass it to `audit verify-export --public-key`.

    Example: vipb audit key
    """
    reader = _reader(ctx)
    try:
        public = event_store.public_hex(reader.audit_key)
    finally:
        reader.close()
    if as_json:
        emit({"public_key": public, "algorithm": "Ed25519"}, True)
    else:
        typer.echo(public)


@app.command("seal")
def seal(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Extend the chain over events not covered yet (the host does this continuously).

    Verify first: sealing vouches for the events as they are now. Example: vipb audit seal
    """
    reader = _reader(ctx)
    try:
        report = reader.auditor.verify()
        if not report.ok:
            emit(report.as_dict(), as_json)
            raise ValidationError("the sealed log does not verify: not sealing on top of it",
                                  field="audit")
        sealed = reader.auditor.seal()
    finally:
        reader.close()
    emit({"sealed": sealed, "head": report.store_head}, as_json)


@app.command("reset")
def reset(
    ctx: typer.Context,
    reason: str = typer.Option(..., "--reason", help="Why (kept in the event log)."),
    as_json: bool = JSON,
) -> None:
    """Start a new audit chain over the log as it is now, after the old one was lost or
    broken. The reset is an event (AuditChainReset, with the reason); checkpoints kept
    elsewhere still prove whether events before it were changed. The host must be stopped.

    Example: vipb audit reset --reason "audit.sqlite lost with the old disk"
    """
    clean = reason.strip()
    if not 3 <= len(clean) <= 500:
        raise ValidationError("must be 3..500 characters", field="reason")
    cli = state(ctx)
    from service.host import HostLock

    lock = HostLock(DataPaths(cli.data_dir).host_lock)
    lock.acquire()  # refuses while a host runs here
    try:
        rt = cli.runtime()
        result = rt.auditor.reset(clean)  # sealed anew when the runtime closes
    finally:
        lock.release()
    emit(result, as_json)


@app.command("export")
def export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Where to write the JSONL export ('-': stdout)."),
    as_json: bool = JSON,
) -> None:
    """Write every event (credentials masked) as JSON lines with a signed trailer
    (Ed25519, the data dir's audit key: `vipb audit key`, the key of its checkpoints too).

    Example: vipb audit export log.jsonl
    """
    reader = _reader(ctx)
    try:
        if str(file) == "-":
            trailer = event_store.export_events(reader.app, reader.audit_key, sys.stdout.buffer)
            return
        with replacing(file, "file") as out:
            trailer = with_progress("exporting", lambda p: event_store.export_events(
                reader.app, reader.audit_key, out, p), as_json)
    finally:
        reader.close()
    emit(trailer, as_json)


@app.command("verify-export")
def verify_export_cmd(
    file: Path = typer.Argument(..., help="An export written by `vipb audit export`."),
    public_key: str | None = typer.Option(None, "--public-key",
                                          help="Expected signer (hex, from `vipb audit "
                                               "key`); default: any."),
    as_json: bool = JSON,
) -> None:
    """Check an export's signature; needs no data dir. Exit code 1 when it does not verify.

    Example: vipb audit verify-export log.jsonl --public-key 3b6a27bc...
    """
    if not file.is_file():
        raise ValidationError(f"{file} is not a readable file", field="file")
    result = event_store.verify_export(file, public_key)
    if public_key is None:
        result["signer"] = ("not checked: this proves the export is intact, not who signed "
                            "it; pass --public-key (from `vipb audit key`) for that")
    emit(result, as_json)
    if not result["ok"]:
        raise typer.Exit(1)


def replay_cmd(
    ctx: typer.Context,
    until: str = typer.Option(..., "--until", help="A notification id, or a time "
                                                   "(ISO 8601, or 30m/2h/7d ago)."),
    out: Path | None = typer.Option(None, "--out", help="Read-model file to write (default: "
                                                        "DATA_DIR/replays/replay-N.sqlite, "
                                                        "0600; delete it when done)."),
    as_json: bool = JSON,
) -> None:
    """Rebuild the read models as of a past point into a separate file; query it with
    `vipb query TABLE --db FILE`. Example: vipb events replay --until 2026-11-24T10:00
    """
    reader = _reader(ctx)
    try:
        source = reader.app.event_log
        if until.isdigit():
            position = int(until)
        else:
            when = parse_time(until)
            history = event_store.EventHistory(reader.app)

            def stamp(note: Any) -> Any:
                entry = history.entry(note)
                from datetime import datetime

                return datetime.fromisoformat(entry.timestamp) if entry.timestamp else None

            position = position_at(source, stamp, when)
        target = out or (own_folder(DataPaths(state(ctx).data_dir).root / "replays")
                         / f"replay-{position}.sqlite")
        replayed = with_progress("replaying", lambda p: replay(
            source, source.decode, event_store.ShreddedEventError, position,
            target, p), as_json)
    finally:
        reader.close()
    emit({"until": position, "replayed": replayed, "db": str(target)}, as_json)
