"""``vipb rank ...`` and ``vipb schedule ...``: rank tracking and its cron schedules.

A search reads the engine's results pages in a real tab behind a proxy and records, per
target domain, its position or "not ranked in N results". A search that could not read the
results (blocked, captcha, network) is a failed search, never "not ranked".
"""

from __future__ import annotations

from typing import Any

import typer

from adapters.cli.context import state
from adapters.cli.formats import rendering, tabular
from adapters.cli.ids import resolve, resolve_proxy_choice
from adapters.cli.output import (
    ProgressReport,
    emit,
    err,
    exit_not_done,
    out,
    print_json,
    said,
    with_progress,
)
from adapters.cli.search_wait import wait_for_tasks
from adapters.reports import search_label
from domain.commands import Command
from domain.errors import ValidationError
from domain.host_commands import Settle
from domain.parsing import parse_command
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    CreateSchedule,
    GetPositions,
    GetResults,
    GetTasks,
    ListDomains,
    ListEngines,
    ListKeywords,
    ListSchedules,
    PauseSchedule,
    RemoveDomain,
    RemoveKeyword,
    RemoveSchedule,
    ResumeSchedule,
    RunSchedule,
    StartSearch,
    StopSearch,
)

app = typer.Typer(help="Rank tracking: target domains, keywords, searches, positions.",
                  no_args_is_help=True)
domain_app = typer.Typer(help="Target domains (what rank tracking looks for).",
                         no_args_is_help=True)
keyword_app = typer.Typer(help="Tracked keywords (what rank tracking searches).",
                          no_args_is_help=True)
schedule_app = typer.Typer(help="Cron schedules that run rank tracking (in the host).",
                           no_args_is_help=True)
app.add_typer(domain_app, name="domain")
app.add_typer(keyword_app, name="keyword")

JSON = typer.Option(False, "--json", help="Print the result as JSON.")
NO_WAIT = typer.Option(False, "--no-wait", help="Queue and return (the host runs the searches).")
WAIT_TIMEOUT = typer.Option(300.0, "--timeout", help="Seconds to wait for results.")
ENGINES_HELP = "google, bing, duckduckgo, brave, yahoo, yandex, or one of VIPB_ENGINES_DIR"
ENGINE = typer.Option("duckduckgo", "--engine", help=ENGINES_HELP + ".")
DEVICE = typer.Option("desktop", "--device", help="desktop or mobile (a phone's profile: "
                                                  "UA, viewport, touch, pixel ratio).")
COUNTRY = typer.Option(None, "--country", help="Search as seen from this country (proxy "
                                               "country and locale), e.g. DE.")


def _run(ctx: typer.Context, model: type[Any], payload: dict[str, Any]) -> Any:
    return state(ctx).commands().execute(parse_command(model, payload))


def _keyword_text(keyword_id: str) -> str:
    """``'coffee' on bing NL (mobile)`` from a keyword's id (keyword|engine|country[|device])."""
    keyword, engine, country, device = [*keyword_id.split("|"), "", ""][:4]
    return search_label(keyword, engine, country, device, quote=True)


# --- domains -------------------------------------------------------------------------------------

@domain_app.command("add")
def domain_add(
    ctx: typer.Context,
    domain: str = typer.Argument(..., help="Domain such as example.com (www. is implied)."),
    exact: bool = typer.Option(False, "--exact",
                               help="Only the domain itself (and www.), not its subdomains."),
    as_json: bool = JSON,
) -> None:
    """Track a target domain. Example: vipb rank domain add example.com"""
    ack = _run(ctx, AddDomain, {"domain": domain, "include_subdomains": not exact})
    scope = "exactly (and www.)" if exact else "and its subdomains"
    emit(ack, as_json, said=said(ack, f"tracking {ack.id} {scope}",
                                 f"already tracking {ack.id} {scope}"))


@domain_app.command("remove")
def domain_remove(ctx: typer.Context,
                  domain: str = typer.Argument(..., help="The target domain."),
                  as_json: bool = JSON) -> None:
    """Stop tracking a domain (history stays). Example: vipb rank domain remove example.com"""
    ack = _run(ctx, RemoveDomain, {"domain": domain})
    emit(ack, as_json, said=said(ack, f"stopped tracking {ack.id} (its history stays)",
                                 f"{ack.id} was not tracked"))


@domain_app.command("list")
@tabular
def domain_list(ctx: typer.Context,
                all_: bool = typer.Option(False, "--all", help="Include removed domains."),
                as_json: bool = JSON) -> None:
    """Target domains with their latest position. Example: vipb rank domain list --json"""
    emit(_run(ctx, ListDomains, {"include_removed": all_}), as_json,
         columns=["domain", "state", "last_position", "last_keyword",
                  "last_checked_at"])


# --- keywords ------------------------------------------------------------------------------------

@keyword_app.command("add")
def keyword_add(
    ctx: typer.Context,
    keyword: str = typer.Argument(..., help="The search words."),
    engine: str = ENGINE,
    country: str | None = COUNTRY,
    device: str = DEVICE,
    depth: int = typer.Option(30, "--depth", help="Results to scan (1..100)."),
    as_json: bool = JSON,
) -> None:
    """Track a keyword (per engine, country and device).

    Example: vipb rank keyword add "espresso grinder" --engine bing --country DE --device mobile
    """
    ack = _run(ctx, AddKeyword, {"keyword": keyword, "engine": engine, "country": country,
                                 "depth": depth, "device": device})
    what = _keyword_text(ack.id)
    emit(ack, as_json, said=said(ack, f"tracking {what}, {depth} results deep",
                                 f"already tracking {what}, {depth} results deep"))


@keyword_app.command("remove")
def keyword_remove(ctx: typer.Context,
                   keyword: str = typer.Argument(..., help="The keyword, as added."),
                   engine: str = ENGINE, country: str | None = COUNTRY,
                   device: str = DEVICE, as_json: bool = JSON) -> None:
    """Stop tracking a keyword. Example: vipb rank keyword remove "espresso grinder" """
    ack = _run(ctx, RemoveKeyword, {"keyword": keyword, "engine": engine,
                                    "country": country, "device": device})
    what = _keyword_text(ack.id)
    emit(ack, as_json, said=said(ack, f"stopped tracking {what} (its history stays)",
                                 f"{what} was not tracked"))


@keyword_app.command("list")
@tabular
def keyword_list(ctx: typer.Context,
                 all_: bool = typer.Option(False, "--all", help="Include removed keywords."),
                 as_json: bool = JSON) -> None:
    """Tracked keywords. Example: vipb rank keyword list"""
    emit(_run(ctx, ListKeywords, {"include_removed": all_}), as_json,
         columns=["keyword", "engine", "country", "device", "depth", "state"])


@app.command("engines")
@tabular
def engines(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Search engines defined now (shipped, and from VIPB_ENGINES_DIR).

    Example: vipb rank engines --json
    """
    rows = _run(ctx, ListEngines, {})
    if not as_json and rendering().for_people:
        for row in rows:
            row["layouts"] = ", ".join(row["layouts"])
    emit(rows, as_json, columns=["name", "url", "layouts", "problem"])


def feature_text(features: dict[str, int]) -> str:
    """``{"ads_top": 3, "images": 1}`` -> ``"3 ads at the top, images"``."""
    parts = []
    for name, count in features.items():
        if name.startswith("ads_"):
            where = "top" if name == "ads_top" else "bottom"
            parts.append(f"{count} ad{'s' if count != 1 else ''} at the {where}")
        else:
            parts.append(name.replace("_", " "))
    return ", ".join(parts)


# --- searches ------------------------------------------------------------------------------------

def _outcome_lines(task: dict[str, Any]) -> list[str]:
    head = search_label(task["keyword"], task["engine"], task.get("country"),
                        task.get("device"), quote=True) + ": "
    if task["state"] == "completed":
        if task.get("no_results"):
            summary = "no results (the engine said so twice, through two routes)"
        else:
            summary = f"{task['results_scanned']} results scanned"
        if task.get("features"):
            summary += f"; page 1 showed {feature_text(task['features'])}"
        lines = [head + summary]
        for p in task["positions"]:
            if p["position"] is None:
                lines.append(f"  {p['domain']}: not ranked in {p['results_scanned']} results")
            else:
                title = f"  \"{p['title']}\"" if p.get("title") else ""
                lines.append(f"  {p['domain']}: #{p['position']}  {p['url']}{title}")
        return lines
    if task["state"] == "failed":
        return [head + f"search failed after {task['attempts']} attempts: {task['error']}"]
    return [head + f"{task['state']} (task {task['id']})"]


@app.command("run")
def run(
    ctx: typer.Context,
    keyword: str | None = typer.Option(None, "--keyword", "-k",
                                       help="Search these words, on each engine and "
                                            "country they are tracked with (untracked: once, "
                                            "on --engine or duckduckgo). Default: every "
                                            "tracked keyword."),
    engine: str | None = typer.Option(None, "--engine", help=ENGINES_HELP + "."),
    country: str | None = COUNTRY,
    device: str | None = typer.Option(None, "--device",
                                      help="desktop or mobile (tracked keywords: only that "
                                           "device; untracked: default desktop)."),
    depth: int | None = typer.Option(None, "--depth", help="Results to scan (1..100)."),
    profile: str = typer.Option("default", "--profile", help="Privacy profile of the tabs."),
    proxy: str = typer.Option("auto", "--proxy", help="auto, a proxy id, or direct."),
    no_wait: bool = NO_WAIT,
    timeout: float = WAIT_TIMEOUT,
    as_json: bool = JSON,
) -> None:
    """Search now and record positions of every target domain (progress on stderr).

    Example: vipb rank run --keyword "espresso grinder" --engine bing --country DE
    """
    payload = {"keyword": keyword, "engine": engine, "country": country, "device": device,
               "depth": depth, "profile": profile,
               "proxy": resolve_proxy_choice(ctx, proxy)}
    _search(ctx, parse_command(StartSearch, payload), no_wait, timeout, as_json)


def _search(ctx: typer.Context, command: Command, no_wait: bool, timeout: float,
            as_json: bool) -> None:
    """Queue ``command``'s searches, then wait for them (progress on stderr) and print each
    outcome; exits 1 unless every search completed."""
    if timeout <= 0:
        raise ValidationError("must be greater than 0", field="timeout")
    commands = state(ctx).commands()
    if no_wait:
        commands.keep_running("--no-wait", "no_wait", ", or drop --no-wait")
    after = commands.execute(Settle()).position
    queued = commands.execute(command)
    ids = [t["id"] for t in queued["tasks"]]
    if no_wait:
        if as_json:
            print_json(queued)
        else:
            emit(queued["tasks"], False,
                 columns=["id", "keyword", "engine", "country", "device", "depth"])
        return

    if not ids:  # a schedule that queued nothing says why
        if as_json:
            print_json({**queued, "timed_out": False})
        else:
            err.print(queued.get("note") or "nothing to search", highlight=False, markup=False)
        exit_not_done(False)
        return

    def wait(report: ProgressReport | None) -> bool:
        return wait_for_tasks(commands, after, ids, timeout, report)

    finished = with_progress(f"searching {len(ids)} keyword(s)", wait, as_json)
    results = commands.execute(parse_command(GetResults, {"task_ids": ids}))
    if as_json:
        print_json({**queued, "tasks": results, "timed_out": not finished})
    else:
        for task in results:
            for line in _outcome_lines(task):
                out.print(line, markup=False, highlight=False)
        if not finished:
            err.print("some searches are still pending: see `vipb rank tasks`",
                      highlight=False)
    # "Not ranked" is a result; a search that failed or is still pending is not.
    exit_not_done(finished and all(t["state"] == "completed" for t in results))


@app.command("stop")
def stop(ctx: typer.Context,
         task_id: str | None = typer.Argument(None, help="Task id (default: all)."),
         as_json: bool = JSON) -> None:
    """Cancel queued or running searches. Example: vipb rank stop"""
    ref = resolve(ctx, "task", task_id) if task_id is not None else None
    stopped = _run(ctx, StopSearch, {"task_id": ref})
    cancelled, stopping = stopped["cancelled"], stopped["stopping"]
    emit(stopped, as_json, said=f"cancelled {len(cancelled)} queued search(es), stopping "
                                f"{len(stopping)} running" if cancelled or stopping
         else "no search was queued or running")


@app.command("tasks")
@tabular
def tasks(ctx: typer.Context,
          state_: str | None = typer.Option(None, "--state", help="queued, running, retrying, "
                                                                  "completed, failed, cancelled"),
          limit: int = typer.Option(50, "--limit", help="At most this many tasks."),
          as_json: bool = JSON) -> None:
    """Search tasks, newest first. Example: vipb rank tasks --state failed"""
    emit(_run(ctx, GetTasks, {"state": state_, "limit": limit}), as_json,
         columns=["id", "keyword", "engine", "state", "reason", "queued_at"])


@app.command("history")
@tabular
def history(ctx: typer.Context,
            domain: str | None = typer.Option(None, "--domain", help="Only this target "
                                                                      "domain."),
            keyword: str | None = typer.Option(None, "--keyword", "-k",
                                               help="Only this keyword."),
            limit: int = typer.Option(100, "--limit", help="At most this many rows."),
            as_json: bool = JSON) -> None:
    """Position history, newest first: when, which search (keyword on engine, country,
    device), the domain's position and the change since the previous search (+ up; new:
    first search). -c url,title,features shows what ranked and what page 1 showed.

    Example: vipb rank history --domain example.com --json
    """
    rows = _run(ctx, GetPositions, {"domain": domain, "keyword": keyword, "limit": limit})
    if not as_json and rendering().for_people:
        for row in rows:
            if row["change"] is not None:
                row["change"] = f"{row['change']:+d}" if row["change"] else "="
            elif row["position"] is not None:  # first search, or not ranked the last time
                row["change"] = "new" if row.get("previous_at") is None else "entered"
            if row["no_results"]:
                row["position"] = "no results"
            elif row["position"] is None:
                row["position"] = f"not in {row['results_scanned']}"
            else:
                row["position"] = f"#{row['position']}"
            row["features"] = feature_text(row["features"])
            row["search"] = search_label(row["keyword"], row["engine"], row.get("country"),
                                         row.get("device"))
    emit(rows, as_json, columns=["recorded_at", "search", "domain", "position", "change"])


# --- schedules -----------------------------------------------------------------------------------

@schedule_app.command("add")
def schedule_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the schedule."),
    cron: str = typer.Option(..., "--cron", help="Cron expression, e.g. '0 6 * * *'."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA zone of the cron times."),
    keyword: list[str] = typer.Option([], "--keyword", "-k",
                                      help="Tracked keyword to search; repeatable "
                                           "(default: all)."),
    profile: str = typer.Option("default", "--profile",
                                help="Privacy profile of the schedule's searches."),
    proxy: str = typer.Option("auto", "--proxy", help="auto, a proxy id, or direct."),
    creators: bool = typer.Option(False, "--creators",
                                  help="Also check every enabled creator."),
    creator: list[str] = typer.Option([], "--creator",
                                      help="Also check this creator; repeatable."),
    no_searches: bool = typer.Option(False, "--no-searches",
                                     help="Check creators only, search nothing."),
    as_json: bool = JSON,
) -> None:
    """Run rank tracking (and creator checks) on a schedule (fires while `vipb host run`
    runs).

    Example: vipb schedule add mornings --cron "0 6 * * *" --timezone Europe/Berlin --creators
    """
    emit(_run(ctx, CreateSchedule, {"name": name, "cron": cron, "timezone": timezone,
                                    "keywords": keyword or None, "profile": profile,
                                    "proxy": resolve_proxy_choice(ctx, proxy),
                                    "searches": not no_searches,
                                    "creators": creator or None, "all_creators": creators}),
         as_json)


@schedule_app.command("pause")
def schedule_pause(ctx: typer.Context,
                   name: str = typer.Argument(..., help="The schedule's name."),
                   as_json: bool = JSON) -> None:
    """Pause a schedule. Example: vipb schedule pause mornings"""
    ack = _run(ctx, PauseSchedule, {"name": name})
    emit(ack, as_json, said=said(ack, f"paused schedule {name}",
                                 f"schedule {name} was already paused"))


@schedule_app.command("run-now")
def schedule_run_now(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The schedule's name."),
    no_wait: bool = NO_WAIT,
    timeout: float = WAIT_TIMEOUT,
    as_json: bool = JSON,
) -> None:
    """Run a schedule's searches now, paused or not; its cron runs stay as they were.

    Example: vipb schedule run-now mornings
    """
    _search(ctx, parse_command(RunSchedule, {"name": name}), no_wait, timeout, as_json)


@schedule_app.command("resume")
def schedule_resume(ctx: typer.Context,
                    name: str = typer.Argument(..., help="The schedule's name."),
                    as_json: bool = JSON) -> None:
    """Resume a schedule (runs missed while paused are skipped).

    Example: vipb schedule resume mornings
    """
    ack = _run(ctx, ResumeSchedule, {"name": name})
    emit(ack, as_json, said=said(ack, f"resumed schedule {name}",
                                 f"schedule {name} was not paused"))


@schedule_app.command("remove")
def schedule_remove(ctx: typer.Context,
                    name: str = typer.Argument(..., help="The schedule's name."),
                    as_json: bool = JSON) -> None:
    """Remove a schedule (its history stays). Example: vipb schedule remove mornings"""
    ack = _run(ctx, RemoveSchedule, {"name": name})
    emit(ack, as_json, said=said(ack, f"removed schedule {name} (its history stays)",
                                 f"schedule {name} was already removed"))


@schedule_app.command("list")
@tabular
def schedule_list(ctx: typer.Context,
                  all_: bool = typer.Option(False, "--all", help="Include removed ones."),
                  as_json: bool = JSON) -> None:
    """Schedules and their next run. Example: vipb schedule list --json"""
    emit(_run(ctx, ListSchedules, {"include_removed": all_}), as_json,
         columns=["name", "cron", "timezone", "state", "next_run_at"])
