"""``vipb audit ...`` and ``vipb events replay``: verify, seal, export, replay the log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from actors.runtime import DataPaths, EventReader
from adapters.cli.context import state
from adapters.cli.output import emit, with_progress
from adapters.store import EventHistory, ShreddedEventError, export_events, verify_export
from adapters.store import parse_since as parse_time
from domain.errors import ValidationError
from projections.replay import position_at, replay

app = typer.Typer(help="Tamper evidence for the event log.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _reader(ctx: typer.Context) -> EventReader:
    """Read-side access (works beside a running host: it only reads the files)."""
    return EventReader(state(ctx).data_dir)


@app.command("verify")
def verify(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Recompute the hash chain over the event log and report the first altered, deleted,
    inserted or reordered event. Exit code 1 when the log was tampered with.

    Example: vipb audit verify --json
    """
    reader = _reader(ctx)
    try:
        report = with_progress("verifying", lambda p: reader.audit.verify(
            reader.app.recorder, p), as_json)
    finally:
        reader.close()
    emit(report.as_dict(), as_json)
    if not report.ok:
        raise typer.Exit(1)


@app.command("seal")
def seal(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Extend the chain over events not covered yet (the host does this continuously).

    Verify first: sealing vouches for the events as they are now. Example: vipb audit seal
    """
    reader = _reader(ctx)
    try:
        report = reader.audit.verify(reader.app.recorder)
        if not report.ok:
            emit(report.as_dict(), as_json)
            raise ValidationError("the sealed log does not verify: not sealing on top of it",
                                  field="audit")
        sealed = reader.audit.seal(reader.app.recorder)
    finally:
        reader.close()
    emit({"sealed": sealed, "head": report.store_head}, as_json)


@app.command("export")
def export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Where to write the JSONL export ('-': stdout)."),
    as_json: bool = JSON,
) -> None:
    """Write every event (credentials masked) as JSON lines with a signed trailer
    (Ed25519; key derived from the master key). Example: vipb audit export log.jsonl
    """
    reader = _reader(ctx)
    try:
        if str(file) == "-":
            trailer = export_events(reader.app, reader.export_key, sys.stdout.buffer)
            return
        with open(file, "wb") as out:
            trailer = with_progress("exporting", lambda p: export_events(
                reader.app, reader.export_key, out, p), as_json)
    finally:
        reader.close()
    emit(trailer, as_json)


@app.command("verify-export")
def verify_export_cmd(
    file: Path = typer.Argument(..., help="An export written by `vipb audit export`."),
    public_key: str | None = typer.Option(None, "--public-key",
                                          help="Expected signer (hex); default: any."),
    as_json: bool = JSON,
) -> None:
    """Check an export's signature; needs no data dir. Exit code 1 when it does not verify.

    Example: vipb audit verify-export log.jsonl --public-key 3b6a27bc...
    """
    if not file.is_file():
        raise ValidationError(f"{file} is not a readable file", field="file")
    result = verify_export(file, public_key)
    emit(result, as_json)
    if not result["ok"]:
        raise typer.Exit(1)


def replay_cmd(
    ctx: typer.Context,
    until: str = typer.Option(..., "--until", help="A notification id, or a time "
                                                   "(ISO 8601, or 30m/2h/7d ago)."),
    out: Path | None = typer.Option(None, "--out", help="Read-model file to write (default: "
                                                        "DATA_DIR/replay-N.sqlite)."),
    as_json: bool = JSON,
) -> None:
    """Rebuild the read models as of a past point into a separate file; query it with
    `vipb query TABLE --db FILE`. Example: vipb events replay --until 2026-11-24T10:00
    """
    reader = _reader(ctx)
    try:
        source = reader.app.recorder
        if until.isdigit():
            position = int(until)
        else:
            when = parse_time(until)
            history = EventHistory(reader.app)

            def stamp(note: Any) -> Any:
                entry = history.entry(note)
                from datetime import datetime

                return datetime.fromisoformat(entry.timestamp) if entry.timestamp else None

            position = position_at(source, stamp, when)
        target = out or DataPaths(state(ctx).data_dir).root / f"replay-{position}.sqlite"
        replayed = with_progress("replaying", lambda p: replay(
            source, reader.app.shredding_mapper.decode_state, ShreddedEventError, position,
            target, p), as_json)
    finally:
        reader.close()
    emit({"until": position, "replayed": replayed, "db": str(target)}, as_json)
