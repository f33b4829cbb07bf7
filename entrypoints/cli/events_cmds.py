"""``vipb events ...``: read the event log itself (audit), credentials masked."""

from __future__ import annotations

import typer

from adapters import store as event_store  # its parts load when a command uses them
from adapters.store import parse_since
from domain.errors import ValidationError
from domain.events import EVENT_NAME
from entrypoints.cli.context import state
from entrypoints.cli.formats import tabular
from entrypoints.cli.output import emit

app = typer.Typer(help="Read the event log (the source of truth).", no_args_is_help=True)

LOG_COLUMNS = ["notification_id", "timestamp", "event", "aggregate_id", "note"]


def event_types(items: list[str]) -> set[str]:
    """Event names from ``-t A,B -t C`` (the same for `events log` and `events follow`)."""
    wanted = {t.strip() for item in items for t in item.split(",") if t.strip()}
    for name in wanted:
        if not EVENT_NAME.fullmatch(name):
            raise ValidationError(f"{name[:40]!r} is not an event name (such as "
                                  "PositionRecorded)", field="type")
    return wanted


@app.command("log")
@tabular
def log(
    ctx: typer.Context,
    aggregate: str | None = typer.Option(None, "--aggregate", "-a",
                                         help="Only events of this aggregate (id or prefix)."),
    since: str | None = typer.Option(None, help="Only events at or after this time "
                                                "(ISO 8601 or 30m, 2h, 7d)."),
    limit: int = typer.Option(50, min=1, max=1_000_000, help="The last N matching events."),
    types: list[str] = typer.Option([], "--type", "-t", help="Only these events, e.g. "
                                                             "PositionRecorded,DomainNotRanked "
                                                             "(or repeat -t)."),
    as_json: bool = typer.Option(False, "--json", help="Print the events (with data) as JSON."),
) -> None:
    """List the last events, oldest first; shredded events show as unreadable.

    Example: vipb events log --aggregate 3f2a --since 2h -t ProxyUpdated
    """
    wanted = event_types(types)
    history = event_store.EventHistory(state(ctx).event_app())
    entries = history.log(aggregate, parse_since(since) if since else None, limit,
                          wanted or None)
    emit(entries, as_json, LOG_COLUMNS, title="events")


@app.command("show")
@tabular
def show(
    ctx: typer.Context,
    notification_id: int = typer.Argument(..., metavar="N", min=1, max=2**63 - 1,
                                          help="Notification id (`vipb events log` shows them)."),
    as_json: bool = typer.Option(False, "--json", help="Print the event as JSON."),
) -> None:
    """Show one event with its data (credentials masked).

    Example: vipb events show 42
    """
    emit(event_store.EventHistory(state(ctx).event_app()).show(notification_id), as_json)
