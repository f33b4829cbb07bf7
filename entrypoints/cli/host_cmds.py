"""``vipb host run``, ``vipb status`` and ``vipb events follow``: the long-running host."""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import pydantic
import typer

from adapters.config import Settings
from adapters.journal import PriorityPrefix, writes_to_journal
from adapters.logs import RepeatFilter
from domain.errors import ValidationError
from domain.host_commands import HostStatus
from domain.parsing import first_error
from entrypoints.cli.context import state
from entrypoints.cli.events_cmds import event_types
from entrypoints.cli.formats import rendering, tabular
from entrypoints.cli.output import emit, exit_not_done, out
from entrypoints.cli.zones import in_own_zone

app = typer.Typer(help="The long-running host (the main job).", no_args_is_help=True)


@app.command("run")
def run(
    ctx: typer.Context,
    log_format: str = typer.Option("json", "--log-format", help="json (one object per "
                                                                  "line) or text."),
    metrics_port: int | None = typer.Option(None, "--metrics-port", min=1, max=65535,
                                            help="Serve Prometheus metrics on "
                                                 "127.0.0.1:PORT/metrics (bearer token: "
                                                 "--metrics-token-file)."),
    metrics_bind: str = typer.Option("127.0.0.1", "--metrics-bind",
                                     help="The address metrics listen on: 127.0.0.1, or one "
                                          "address of this machine a Prometheus reaches "
                                          "(never 0.0.0.0)."),
    metrics_token_file: Path | None = typer.Option(
        None, "--metrics-token-file", help="The metrics bearer token (created 0600 if "
        "missing; default DATA_DIR/metrics.token)."),
    host_id: str | None = typer.Option(None, "--host-id", help="This host's name in a "
                                       "cluster (default: VIPB_HOST_ID, else the machine's "
                                       "name)."),
) -> None:
    """Run the host until SIGTERM or SIGINT: actors, background projections, the control
    socket (DATA_DIR/vipb.sock, mode 0600) and Chromium on demand.

    While it runs, every other vipb command talks to it. Example: vipb host run
    """
    if log_format not in ("json", "text"):
        raise typer.BadParameter("json or text", param_hint="--log-format")
    from service.host import Host, JsonLogFormatter  # see context.py

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatFilter())  # a fault in a tight loop must not fill the disk
    formatter = JsonLogFormatter() if log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s")
    # under systemd: "<4>" priorities, so that `journalctl -p warning` filters
    handler.setFormatter(PriorityPrefix(formatter) if writes_to_journal(sys.stderr)
                         else formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("pykka").setLevel(logging.WARNING)
    cli = state(ctx)
    settings = cli.settings
    if host_id is not None:
        try:
            settings = Settings.model_validate({**settings.model_dump(), "host_id": host_id})
        except pydantic.ValidationError as exc:
            raise first_error(exc) from None
    Host(cli.data_dir, settings, metrics_port,
         metrics_token_file=metrics_token_file.expanduser() if metrics_token_file else None,
         metrics_bind=metrics_bind).run()


@tabular
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Host status: uptime, actors, proxies by status, open tabs, projection lag, searches,
    creator checks, next schedules (a time in the past is due: it fires when the host runs).

    Without a running host, the same figures from the data dir. Example: vipb status --json
    """
    data: dict[str, Any] = state(ctx).commands().execute(HostStatus())
    shown = data
    if not as_json and rendering().for_people and not rendering().columns:
        lagging = {v: n for v, n in (data.get("views") or {}).items() if n}
        shown = {**data, "views": lagging or "all at the store head"}
        if isinstance(data.get("next_schedules"), list):
            shown["next_schedules"] = [in_own_zone(s) for s in data["next_schedules"]]
        if isinstance(data.get("cluster"), dict):
            shown["cluster"] = _cluster_line(data["cluster"])
        if shown.get("views_note") is None:
            shown.pop("views_note", None)  # said only when the views were healed
    emit(shown, as_json)
    exit_not_done(data.get("health") != "degraded")  # a degraded host exits 1


def _cluster_line(cluster: dict[str, Any]) -> str:
    """The hosts sharing the store, on one line: ``a (projects, 2 searching), b, c silent
    12s``; this host is marked with ``*``."""
    if "error" in cluster:
        return f"unreachable: {cluster['error']}"
    parts = []
    for host in cluster.get("hosts", []):
        notes = []
        if host["state"] != "up":
            notes.append(host["state"] if host["state"] == "stopped"
                         else f"silent {host['heartbeat_age']:.0f}s")
        if host["projects"] and host["state"] == "up":
            notes.append("projects")
        if host["searches_running"]:
            notes.append(f"{host['searches_running']} searching")
        if host.get("creator_checks"):
            notes.append(f"{host['creator_checks']} checking creators")
        me = "*" if host["host_id"] == cluster.get("host_id") else ""
        parts.append(f"{host['host_id']}{me}" + (f" ({', '.join(notes)})" if notes else ""))
    up = sum(1 for h in cluster.get("hosts", []) if h["state"] == "up")
    return f"{up} up: " + ", ".join(parts)


def follow(
    ctx: typer.Context,
    after: int | None = typer.Option(None, "--after", help="Start after this notification "
                                                            "id (default: from now)."),
    types: list[str] = typer.Option([], "--type", "-t", help="Only these events, e.g. "
                                    "PositionRecorded,DomainNotRanked (repeat or commas)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line (NDJSON)."),
) -> None:
    """Stream events as they are committed, until interrupted: the host's, or (without a
    host) those of any process writing to this data dir.

    Example: vipb events follow --type PositionRecorded,DomainNotRanked --json
    """
    wanted = event_types(types)
    if after is not None and not 0 <= after < 2**63:
        raise ValidationError("must be a notification id from 0 to 2^63-1", field="after")

    def show(event: dict[str, Any]) -> bool:
        if wanted and event["event"] not in wanted:
            return False
        if as_json:
            sys.stdout.write(json.dumps(event, separators=(",", ":"), default=str) + "\n")
        else:
            out.print(f"{event['notification_id']:>8}  {event['timestamp'] or '-':32}  "
                      f"{event['event']:24}  {event['aggregate_id']}", markup=False,
                      highlight=False)
        sys.stdout.flush()
        return False  # never done: follow until interrupted

    state(ctx).commands().follow(after, show, math.inf, wanted or None)  # filtered at source
