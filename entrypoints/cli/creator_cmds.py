"""``vipb creator ...``: public pages to keep an eye on (checks load them in a tab; nothing
on them is clicked, played or engaged with)."""

from __future__ import annotations

from typing import Any

import typer

from domain.creator_commands import (
    AddCreator,
    CheckCreator,
    CreatorHistory,
    ListCreators,
    RemoveCreator,
    UpdateCreator,
)
from domain.errors import ValidationError
from entrypoints.cli.context import run_command
from entrypoints.cli.formats import rendering, tabular
from entrypoints.cli.ids import resolve_proxy_choice
from entrypoints.cli.output import emit, exit_not_done, said

app = typer.Typer(help="Creator watch: public pages checked for reachability and changes.",
                  no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print the result as JSON.")
NAME = typer.Argument(..., help="The creator's name.")


def _tags(tag: list[str]) -> list[str]:
    return [t.strip() for item in tag for t in item.split(",") if t.strip()]


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the creator (new)."),
    url: str = typer.Argument(..., help="The public page, http(s)."),
    platform: str = typer.Option("web", "--platform", help="A label, e.g. blog, youtube."),
    priority: int = typer.Option(3, "--priority", help="1 (most important) .. 5."),
    disabled: bool = typer.Option(False, "--disabled", help="Add it without checking it."),
    tag: list[str] = typer.Option([], "--tag", help="A tag (repeat, or commas)."),
    as_json: bool = JSON,
) -> None:
    """Watch a public page. Example: vipb creator add jane https://example.com/@jane --tag news
    """
    ack = run_command(ctx, AddCreator, {"name": name, "url": url, "platform": platform,
                                 "priority": priority, "enabled": not disabled,
                                 "tags": _tags(tag)})
    emit(ack, as_json, said=f"watching {name} at {url}")


@app.command("update")
def update(
    ctx: typer.Context,
    name: str = NAME,
    url: str | None = typer.Option(None, "--url", help="A new URL."),
    platform: str | None = typer.Option(None, "--platform", help="A new platform label."),
    priority: int | None = typer.Option(None, "--priority", help="1 .. 5."),
    enabled: str | None = typer.Option(None, "--enabled", help="on or off."),
    tag: list[str] = typer.Option([], "--tag", help="Replace the tags (repeat, or commas)."),
    as_json: bool = JSON,
) -> None:
    """Change a creator. Example: vipb creator update jane --enabled off"""
    payload: dict[str, Any] = {"name": name, "url": url, "platform": platform,
                               "priority": priority}
    if enabled is not None:
        flag = {"on": True, "off": False}.get(enabled.lower())
        if flag is None:
            raise ValidationError("must be on or off", field="enabled")
        payload["enabled"] = flag
    if tag:
        payload["tags"] = _tags(tag)
    ack = run_command(ctx, UpdateCreator, {k: v for k, v in payload.items() if v is not None})
    emit(ack, as_json, said=said(ack, f"updated creator {name}", f"creator {name}: no change"))


@app.command("remove")
def remove(ctx: typer.Context, name: str = NAME, as_json: bool = JSON) -> None:
    """Stop watching a creator (its checks stay on record). Example: vipb creator remove jane
    """
    ack = run_command(ctx, RemoveCreator, {"name": name})
    emit(ack, as_json, said=f"stopped watching {name} (its checks stay on record)")


@app.command("check")
def check(
    ctx: typer.Context,
    name: str = NAME,
    profile: str = typer.Option("default", "--profile", help="Privacy profile of the tab."),
    proxy: str = typer.Option("auto", "--proxy", help="auto, a proxy id, or direct."),
    country: str | None = typer.Option(None, "--country", help="Wanted proxy country."),
    as_json: bool = JSON,
) -> None:
    """Load the page now (nothing else is done on it), record the check, say what it found;
    exit 1 when it was unreachable. Example: vipb creator check jane --profile berlin
    """
    found = run_command(ctx, CheckCreator, {"name": name, "profile": profile,
                                     "proxy": resolve_proxy_choice(ctx, proxy),
                                     "country": country})
    if found["reachable"]:
        title = f" {found['title']!r}" if found.get("title") else ""
        news = ("; first check" if found["first"] else "; changed since the last check"
                if found["changed"] else "; unchanged since the last check")
        sentence = (f"{found['name']}: reachable, HTTP {found['http_status']}{title}"
                    f"{' at ' + found['final_url'] if found['final_url'] != found['url'] else ''}"
                    f"{news}")
    else:
        status = f", HTTP {found['http_status']}" if found.get("http_status") else ""
        sentence = (f"{found['name']}: unreachable ({found['reason']}{status}) after "
                    f"{found['attempts']} attempt(s)")
    emit(found, as_json, said=sentence)
    exit_not_done(bool(found["reachable"]))


@app.command("list")
@tabular
def list_creators(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include removed creators."),
    as_json: bool = JSON,
) -> None:
    """Watched creators with their latest check. Example: vipb creator list --json"""
    rows = run_command(ctx, ListCreators, {"include_removed": all_})
    if as_json or not rendering().for_people or rendering().columns:
        emit(rows, as_json, columns=["name", "platform", "priority", "enabled", "url",
                                     "last_reachable", "last_checked_at"], title="creators")
        return
    # for people, in 80 columns: a paused creator's last result is history, not its state
    shown = [{"name": r["name"], "platform": r["platform"], "priority": r["priority"],
              "url": r["url"], "reachable": "paused" if not r["enabled"]
              else r["last_reachable"], "checked": r["last_checked_at"]} for r in rows]
    emit(shown, as_json, title="creators")


@app.command("show")
@tabular
def show(ctx: typer.Context, name: str = NAME, as_json: bool = JSON) -> None:
    """One creator and its latest check. Example: vipb creator show jane"""
    rows = run_command(ctx, ListCreators, {"include_removed": False})
    found = [r for r in rows if r["name"].casefold() == name.casefold()]
    if not found:
        raise ValidationError(f"no creator named {name!r} (see `vipb creator list`)",
                              field="name")
    emit(found[0], as_json)


@app.command("history")
@tabular
def history(
    ctx: typer.Context,
    name: str = NAME,
    limit: int = typer.Option(50, "--limit", help="At most this many checks."),
    as_json: bool = JSON,
) -> None:
    """A creator's checks, newest first. Example: vipb creator history jane --limit 10"""
    rows = run_command(ctx, CreatorHistory, {"name": name, "limit": limit})
    emit(rows, as_json, columns=["checked_at", "reachable", "http_status", "reason",
                                 "changed", "title"], title="checks")
