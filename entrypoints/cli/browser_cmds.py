"""``vipb tab|privacy|session ...``: tabs in real Chromium, privacy profiles, saved sessions.

Without a running host, a tab lives as long as the command: ``vipb tab visit`` opens a tab,
loads the page, records everything and closes it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import typer

from domain.fingerprint import system_of
from domain.parsing import parse_command
from domain.tab_commands import (
    TAB_COMMANDS,
    CreateTab,
    ListProfiles,
    ListSessions,
    ListTabs,
    RemoveProfile,
    SetFingerprint,
    ToggleTrackerBlocking,
    ToggleWebRTC,
)
from entrypoints.cli.context import state
from entrypoints.cli.formats import rendering, short, tabular
from entrypoints.cli.ids import resolve, resolve_proxy_choice
from entrypoints.cli.output import emit, err, exit_not_done, out, said

tab_app = typer.Typer(help="Tabs: real Chromium, one proxy and privacy profile each.",
                      no_args_is_help=True)
privacy_app = typer.Typer(help="Privacy profiles: fingerprint, WebRTC guard, tracker blocking.",
                          no_args_is_help=True)
session_app = typer.Typer(help="Saved sets of tabs.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print the result as JSON.")
TAB_ID = typer.Argument(..., help="Tab id or a unique prefix of it.")


def _run(ctx: typer.Context, command: Any) -> Any:
    return state(ctx).commands().execute(command)


@tab_app.command("visit")
def visit(
    ctx: typer.Context,
    url: str = typer.Argument(..., help="http(s) URL to load."),
    profile: str = typer.Option("default", "--profile", help="Privacy profile name."),
    proxy: str = typer.Option("auto", "--proxy",
                              help="auto (rotation picks), a proxy id, or direct."),
    country: str | None = typer.Option(None, "--country", help="Wanted proxy country (auto)."),
    as_json: bool = JSON,
) -> None:
    """Open a tab, load URL through its proxy, record the visit, close the tab.

    Example: vipb tab visit https://example.com --profile berlin --country DE
    """
    command = parse_command(CreateTab, {"url": url, "profile": profile,
                                        "proxy": resolve_proxy_choice(ctx, proxy),
                                        "country": country})
    commands = state(ctx).commands()
    result = commands.execute(command)
    close = parse_command(TAB_COMMANDS["tab:close"], {"tab_id": result["id"]})
    commands.execute(close)
    emit({k: v for k, v in result.items() if k != "position"}, as_json)
    exit_not_done(not result.get("error"))  # the page did not load: exit 1


@tab_app.command("list")
@tabular
def list_tabs(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include closed tabs."),
    limit: int = typer.Option(100, "--limit", help="At most this many rows."),
    as_json: bool = JSON,
) -> None:
    """List tabs from the read model. Example: vipb tab list --all --json"""
    rows = _run(ctx, parse_command(ListTabs, {"include_closed": all_, "limit": limit}))
    emit(rows, as_json, columns=["id", "state", "http_status", "url", "title"])


@privacy_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Profile name."),
    os_: list[str] = typer.Option([], "--os", help="windows, macos or linux (repeatable), or "
                                                "android (a phone, for mobile searches)."),
    seed: int | None = typer.Option(None, "--seed", help="Reproducible generation."),
    locale: str | None = typer.Option(None, "--locale", help="e.g. de-DE"),
    timezone: str | None = typer.Option(None, "--timezone", help="e.g. Europe/Berlin"),
    follow: bool = typer.Option(False, "--follow-proxy-country",
                                help="Locale and time zone follow each tab's proxy country."),
    regenerate: bool = typer.Option(False, "--regenerate",
                                    help="Give an existing profile a new fingerprint."),
    as_json: bool = JSON,
) -> None:
    """Create a privacy profile with a coherent fingerprint (browserforge data).

    Example: vipb privacy create berlin --os windows --locale de-DE --timezone Europe/Berlin
    """
    payload: dict[str, Any] = {"profile": name, "seed": seed, "locale": locale,
                               "timezone": timezone, "follow_proxy_country": follow,
                               "regenerate": regenerate}
    if os_:
        payload["os"] = os_
    emit(_run(ctx, parse_command(SetFingerprint, payload)), as_json)


@privacy_app.command("webrtc")
def webrtc(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Profile name."),
    mode: str = typer.Argument(..., help="proxied (no leaking candidates) or block."),
    as_json: bool = JSON,
) -> None:
    """Choose a profile's WebRTC guard. Example: vipb privacy webrtc berlin block"""
    ack = _run(ctx, parse_command(ToggleWebRTC, {"profile": name, "mode": mode}))
    guard = {"block": "WebRTC blocked", "proxied": "WebRTC through the proxy only"}.get(
        mode.lower(), f"WebRTC {mode}")
    emit(ack, as_json, said=said(ack, f"profile {name}: {guard}",
                                 f"profile {name}: {guard} already"))


@privacy_app.command("blocking")
def blocking(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Profile name."),
    enabled: str = typer.Argument(..., help="on or off."),
    as_json: bool = JSON,
) -> None:
    """Turn tracker blocking on or off (lists: VIPB_FILTER_LISTS).

    Example: vipb privacy blocking berlin on
    """
    flag = {"on": True, "off": False}.get(enabled.lower(), enabled)
    ack = _run(ctx, parse_command(ToggleTrackerBlocking, {"profile": name, "enabled": flag}))
    emit(ack, as_json, said=said(ack, f"profile {name}: tracker blocking {enabled.lower()}",
                                 f"profile {name}: tracker blocking was already "
                                 f"{enabled.lower()}"))


@privacy_app.command("remove")
def remove_profile(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Profile name."),
    as_json: bool = JSON,
) -> None:
    """Remove a privacy profile that no open tab and no schedule uses (its history stays;
    the name can be used again). Example: vipb privacy remove berlin
    """
    ack = _run(ctx, parse_command(RemoveProfile, {"profile": name}))
    emit(ack, as_json, said=said(ack, f"removed profile {name} (its history stays)",
                                 f"profile {name} was already removed"))


@privacy_app.command("list")
@tabular
def list_profiles(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List privacy profiles; a profile whose values no single real Chrome presents (drawn
    before devices were checked) is named on stderr. Example: vipb privacy list --json"""
    rows = state(ctx).commands().execute(parse_command(ListProfiles, {}))
    emit(rows, as_json, columns=["name", "platform", "locale", "timezone", "webrtc",
                                 "tracker_blocking"])
    if as_json:
        return
    for row in rows:
        if row["faults"]:
            system = system_of(row["user_agent"]) or "linux"
            err.print(f"profile {row['name']}: {row['faults']}; give it a new fingerprint: "
                      f"vipb privacy create {shlex.quote(row['name'])} --regenerate --os "
                      f"{system}", markup=False, highlight=False)


@privacy_app.command("stats")
@tabular
def stats(
    ctx: typer.Context,
    tab: str | None = typer.Option(None, "--tab", help="One tab's id or a unique prefix."),
    as_json: bool = JSON,
) -> None:
    """Tracker-blocking counts (recorded summaries): totals, then one row per tab (the rows
    are what --csv and --nl print). Example: vipb privacy stats"""
    payload = {"tab_id": resolve(ctx, "tab", tab)} if tab else {}
    result = _run(ctx, parse_command(TAB_COMMANDS["privacy:get-stats"], payload))
    if as_json:
        emit(result, True)
        return
    if rendering().for_people and not rendering().columns:
        out.print(f"{result['blocked']} request(s) blocked, {result['allowed']} allowed, in "
                  f"{len(result['tabs'])} tab(s)", markup=False, highlight=False)
    emit(result["tabs"], False, columns=["tab_id", "blocked", "allowed"], title="tabs")


@session_app.command("list")
@tabular
def list_sessions(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List saved sessions. Example: vipb session list"""
    emit(_run(ctx, parse_command(ListSessions, {})), as_json,
         columns=["name", "tab_count", "saved_at", "loaded_at", "loads"])


def _tab_call(ctx: typer.Context, channel: str, payload: dict[str, Any], as_json: bool,
              sentence: Callable[[dict[str, Any]], str] | None = None) -> None:
    """Run a tab command and print its record (or ``sentence(record)``, for people)."""
    result = _run(ctx, parse_command(TAB_COMMANDS[channel], payload))
    shown = {k: v for k, v in result.items() if k not in ("position", "history")} \
        if isinstance(result, dict) else result
    emit(shown, as_json, said=sentence(result) if sentence and isinstance(result, dict)
         else None)
    exit_not_done(not (isinstance(result, dict) and result.get("error")))


@tab_app.command("open")
def open_tab(
    ctx: typer.Context,
    url: str | None = typer.Argument(None, help="http(s) URL to load (optional)."),
    profile: str = typer.Option("default", "--profile", help="Privacy profile name."),
    proxy: str = typer.Option("auto", "--proxy",
                              help="auto (rotation picks), a proxy id, or direct."),
    country: str | None = typer.Option(None, "--country", help="Wanted proxy country (auto)."),
    label: str | None = typer.Option(None, "--label", help="A short label."),
    as_json: bool = JSON,
) -> None:
    """Open a tab that stays open in the running host (without a host it closes when this
    command ends: use `vipb tab visit`). Example: vipb tab open https://example.com
    """
    state(ctx).commands().keep_running("a tab that stays open", "host",
                                       ", or use `vipb tab visit` for a one-off visit")
    payload: dict[str, Any] = {"url": url, "profile": profile,
                               "proxy": resolve_proxy_choice(ctx, proxy),
                               "country": country, "label": label}
    _tab_call(ctx, "tab:create", {k: v for k, v in payload.items() if v is not None}, as_json)


@tab_app.command("navigate")
def navigate(ctx: typer.Context, tab_id: str = TAB_ID,
             url: str = typer.Argument(..., help="http(s) URL."), as_json: bool = JSON) -> None:
    """Load a URL in an open tab. Example: vipb tab navigate 3f2a... https://example.com/a"""
    _tab_call(ctx, "tab:navigate", {"tab_id": resolve(ctx, "tab", tab_id), "url": url},
              as_json)


@tab_app.command("back")
def back(ctx: typer.Context, tab_id: str = TAB_ID,
         as_json: bool = JSON) -> None:
    """Go back one history entry. Example: vipb tab back 3f2a..."""
    _tab_call(ctx, "tab:go-back", {"tab_id": resolve(ctx, "tab", tab_id)}, as_json)


@tab_app.command("forward")
def forward(ctx: typer.Context, tab_id: str = TAB_ID,
            as_json: bool = JSON) -> None:
    """Go forward one history entry. Example: vipb tab forward 3f2a..."""
    _tab_call(ctx, "tab:go-forward", {"tab_id": resolve(ctx, "tab", tab_id)}, as_json)


@tab_app.command("reload")
def reload(ctx: typer.Context, tab_id: str = TAB_ID,
           as_json: bool = JSON) -> None:
    """Reload a tab's page. Example: vipb tab reload 3f2a..."""
    _tab_call(ctx, "tab:reload", {"tab_id": resolve(ctx, "tab", tab_id)}, as_json)


@tab_app.command("proxy")
def assign_proxy(ctx: typer.Context, tab_id: str = TAB_ID,
                 proxy: str = typer.Argument("auto", help="auto, a proxy id, or direct."),
                 as_json: bool = JSON) -> None:
    """Move a tab to another proxy (its page reloads). Example: vipb tab proxy 3f2a... auto"""
    _tab_call(ctx, "tab:assign-proxy", {"tab_id": resolve(ctx, "tab", tab_id),
                                        "proxy": resolve_proxy_choice(ctx, proxy)}, as_json)


@tab_app.command("close")
def close_tab(ctx: typer.Context, tab_id: str = TAB_ID,
              as_json: bool = JSON) -> None:
    """Close a tab (its tracker counts are recorded). Example: vipb tab close 3f2a..."""
    _tab_call(ctx, "tab:close", {"tab_id": resolve(ctx, "tab", tab_id)}, as_json,
              sentence=_closed)


def _closed(tab: dict[str, Any]) -> str:
    where = f", last at {tab['url']}" if tab.get("url") else " (it loaded nothing)"
    label = f" ({tab['label']})" if tab.get("label") else ""
    return f"closed tab {short(tab['id'])}{label}{where}"


@session_app.command("save")
def save_session(ctx: typer.Context, name: str = typer.Argument(..., help="Session name."),
                 as_json: bool = JSON) -> None:
    """Save the open tabs (URLs, proxies, profiles). Example: vipb session save morning"""
    saved = _run(ctx, parse_command(TAB_COMMANDS["session:save"], {"name": name}))
    emit(saved, as_json, said=f"saved session {name}: {saved['tabs']} open tab(s)")


@session_app.command("load")
def load_session(ctx: typer.Context, name: str = typer.Argument(..., help="Session name."),
                 as_json: bool = JSON) -> None:
    """Reopen a saved session's tabs. Example: vipb session load morning"""
    result = _run(ctx, parse_command(TAB_COMMANDS["session:load"], {"name": name}))
    emit(result["tabs"] if not as_json else result, as_json,
         columns=["id", "url", "status", "proxy_id"])
    exit_not_done(not any(tab.get("error") for tab in result["tabs"]))
