"""``vipb rank ...`` and ``vipb schedule ...``: rank tracking and its cron schedules.

A search reads the engine's results pages in a real tab behind a proxy and records, per
target domain, its position or "not ranked in N results". A search that could not read the
results (blocked, captcha, network) is a failed search, never "not ranked". A search for a
country goes through a proxy of that country or fails (``no_proxy_in_country``), unless the
keyword allows any exit country: then the exit used is shown beside its positions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from adapters.reports import search_label
from adapters.store import parse_since
from domain.alert_commands import AddAlertRule
from domain.commands import Command
from domain.errors import BaseError, ValidationError
from domain.host_commands import Settle
from domain.keyword_rows import COLUMNS as KEYWORD_COLUMNS
from domain.keyword_rows import keyword_csv, read_keyword_rows
from domain.parsing import parse_command
from domain.rank_commands import (
    AddDomain,
    AddKeyword,
    CreateSchedule,
    GetEvidence,
    GetPositions,
    GetTasks,
    ImportKeywords,
    ListDomains,
    ListEngines,
    ListKeywords,
    ListSchedules,
    PauseSchedule,
    RemoveDomain,
    RemoveKeyword,
    RemoveSchedule,
    Reparse,
    ResumeSchedule,
    RunSchedule,
    StartSearch,
    StopSearch,
)
from domain.ranking import movement
from entrypoints.cli.alert_cmds import channel_payload, shown_channel
from entrypoints.cli.batches import execute_patiently, read_input
from entrypoints.cli.context import Commands, run_command, state
from entrypoints.cli.files import write_output
from entrypoints.cli.formats import rendering, tabular
from entrypoints.cli.ids import resolve, resolve_proxy_choice
from entrypoints.cli.output import (
    ProgressReport,
    emit,
    err,
    exit_not_done,
    out,
    print_json,
    said,
    with_progress,
)
from entrypoints.cli.search_wait import (
    held_interrupts,
    interrupted,
    results_of,
    wait_for_tasks,
)
from entrypoints.cli.zones import in_own_zone

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
ENGINE = typer.Option(None, "--engine", help=ENGINES_HELP + " (default: the default_engine "
                                              "setting, duckduckgo unless set).")
DEVICE = typer.Option("desktop", "--device", help="desktop or mobile (a phone's profile: "
                                                  "UA, viewport, touch, pixel ratio).")
COUNTRY = typer.Option(None, "--country", help="Search as seen from this country, e.g. DE: "
                                               "through a proxy there (or the search fails), "
                                               "in its main language.")
LOCATION = typer.Option(None, "--location", help="A place in the country, as Google names it "
                                                 "(\"Berlin,Berlin,Germany\"); engines that "
                                                 "take one (google).")
LANGUAGE = typer.Option(None, "--language", help="The results' language (de, fr, pt-BR); "
                                                 "default: the country's main one.")
ANY_EXIT = typer.Option(False, "--any-exit-country",
                        help="When no proxy of the country is available, search through one "
                             "elsewhere and show that exit beside the positions.")


def _keyword_text(keyword_id: str) -> str:
    """``'coffee' on bing NL near Utrecht,Utrecht,Netherlands (mobile)`` from a keyword's
    id (keyword|engine|country[|device[|location|language]])."""
    keyword, engine, country, device, location, language = [
        *keyword_id.split("|"), "", "", ""][:6]
    return search_label(keyword, engine, country, device, quote=True,
                        location=location or None, language=language or None)


def where_from(row: dict[str, Any]) -> str:
    """`` (exit DE)`` when a search left from another country than it was for (a keyword
    that allows any exit), or from an unknown one; "" when it left from its own."""
    country, exit_country = row.get("country"), row.get("exit_country")
    if not country or exit_country == country:
        return ""
    return f" (exit {exit_country or 'unknown'})"


def position_text(row: dict[str, Any]) -> str:
    """``#3``, ``not in 30``, ``no results``; with the exit when it is not the country
    asked for, and ``revised`` (was #5) when a re-read of the stored page changed it."""
    if row.get("no_results"):
        text = "no results"
    elif row["position"] is None:
        text = f"not in {row['results_scanned']}"
    else:
        text = f"#{row['position']}"
    if row.get("revised"):
        was = row.get("original_position")
        text += f" (revised, was {'#' + str(was) if was is not None else 'not ranked'})"
    return text + where_from(row)


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
    ack = run_command(ctx, AddDomain, {"domain": domain, "include_subdomains": not exact})
    scope = "exactly (and www.)" if exact else "and its subdomains"
    emit(ack, as_json, said=said(ack, f"tracking {ack.id} {scope}",
                                 f"already tracking {ack.id} {scope}"))


@domain_app.command("remove")
def domain_remove(ctx: typer.Context,
                  domain: str = typer.Argument(..., help="The target domain."),
                  as_json: bool = JSON) -> None:
    """Stop tracking a domain (history stays). Example: vipb rank domain remove example.com"""
    ack = run_command(ctx, RemoveDomain, {"domain": domain})
    emit(ack, as_json, said=said(ack, f"stopped tracking {ack.id} (its history stays)",
                                 f"{ack.id} was not tracked"))


@domain_app.command("list")
@tabular
def domain_list(ctx: typer.Context,
                all_: bool = typer.Option(False, "--all", help="Include removed domains."),
                as_json: bool = JSON) -> None:
    """Target domains with their latest position. Example: vipb rank domain list --json"""
    emit(run_command(ctx, ListDomains, {"include_removed": all_}), as_json,
         columns=["domain", "state", "last_position", "last_keyword",
                  "last_checked_at"])


# --- keywords ------------------------------------------------------------------------------------

@keyword_app.command("add")
def keyword_add(
    ctx: typer.Context,
    keyword: str = typer.Argument(..., help="The search words."),
    engine: str | None = ENGINE,
    country: str | None = COUNTRY,
    location: str | None = LOCATION,
    language: str | None = LANGUAGE,
    device: str = DEVICE,
    depth: int = typer.Option(30, "--depth", help="Results to scan (1..100)."),
    any_exit_country: bool = ANY_EXIT,
    as_json: bool = JSON,
) -> None:
    """Track a keyword (per engine, country, location, language and device).

    Example: vipb rank keyword add pizza --engine google --country IT --location Rome,Lazio,Italy
    """
    engine = engine or state(ctx).settings.default_engine
    ack = run_command(ctx, AddKeyword, {"keyword": keyword, "engine": engine, "country": country,
                                 "location": location, "language": language,
                                 "depth": depth, "device": device,
                                 "any_exit_country": any_exit_country})
    what = _keyword_text(ack.id)
    exits = "; any exit country may stand in" if any_exit_country else ""
    emit(ack, as_json, said=said(ack, f"tracking {what}, {depth} results deep{exits}",
                                 f"already tracking {what}, {depth} results deep{exits}"))


@keyword_app.command("remove")
def keyword_remove(ctx: typer.Context,
                   keyword: str = typer.Argument(..., help="The keyword, as added."),
                   engine: str | None = typer.Option(None, "--engine",
                                                     help="Only on this engine."),
                   country: str | None = COUNTRY,
                   location: str | None = LOCATION, language: str | None = LANGUAGE,
                   device: str | None = typer.Option(None, "--device",
                                                     help="Only on this device."),
                   exact: bool = typer.Option(False, "--exact",
                                              help="Options left out mean unset (no country, "
                                                   "the default engine, desktop), not "
                                                   "any."),
                   all_matching: bool = typer.Option(False, "--all-matching",
                                                     help="Remove every keyword that matches."),
                   as_json: bool = JSON) -> None:
    """Stop tracking a keyword (its history stays). Options narrow which one: with the words
    alone, the one keyword tracked with them is removed; when several are, the error names
    them.

    Example: vipb rank keyword remove "espresso grinder" --engine bing --country DE
    """
    ack = run_command(ctx, RemoveKeyword, {
        "keyword": keyword, "engine": engine, "country": country, "location": location,
        "language": language, "device": device, "exact": exact,
        "all_matching": all_matching})
    keys = ack.id.split("\n")
    what = (_keyword_text(keys[0]) if len(keys) == 1
            else f"{len(keys)} keywords: " + ", ".join(_keyword_text(k) for k in keys))
    emit(ack, as_json, said=f"stopped tracking {what} (history stays)")


@keyword_app.command("import")
def keyword_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV file with a header row ('-' for stdin)."),
    as_json: bool = JSON,
) -> None:
    """Track the keywords of a CSV file. The header row names the columns: keyword
    (required), engine, country, device, depth, location, language, any_exit_country; empty
    cells take `keyword add`'s defaults, blank and '#' lines are skipped. Bad rows are
    reported with their line number and the rest is tracked; importing a file again changes
    only what differs. Exit code 0 when every row was taken, 1 when some failed.

    Example: vipb rank keyword import keywords.csv
    """
    rows, errors = read_keyword_rows(read_input(file, sys.stdin),
                                     state(ctx).settings.default_engine)
    commands = state(ctx).commands()
    found: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
    for start in range(0, len(rows), IMPORT_BATCH):
        part = rows[start:start + IMPORT_BATCH]
        result = execute_patiently(commands, parse_command(
            ImportKeywords, {"keywords": tuple(row for _line, row in part)}))
        for kind, keys in found.items():
            keys += result[kind]
        errors += [{"line": part[e["index"]][0], "error": e["error"]} for e in result["errors"]]
    errors.sort(key=lambda e: int(e["line"]))
    if as_json:
        print_json({**found, "errors": errors})
    else:
        for item in errors:
            err.print(f"line {item['line']}: {item['error']}", markup=False, highlight=False)
        out.print(f"tracking {len(found['added'])} new keywords, updated "
                  f"{len(found['updated'])}, {len(found['unchanged'])} unchanged, "
                  f"{len(errors)} lines failed", markup=False, highlight=False)
    if errors:
        raise typer.Exit(1)


IMPORT_BATCH = 1000  # keywords per command (the command's limit)


@keyword_app.command("export")
def keyword_export(
    ctx: typer.Context,
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="Write the CSV here (default: stdout)."),
    as_json: bool = typer.Option(False, "--json", help="The same columns as JSON (a list "
                                                       "of objects) instead of CSV."),
) -> None:
    """Print the tracked keywords as CSV in the columns `rank keyword import` reads, so a
    file exported here imports elsewhere to the same keywords.

    Example: vipb rank keyword export -o keywords.csv
    """
    rows = run_command(ctx, ListKeywords, {})
    if as_json:
        text = json.dumps([{c: row.get(c) for c in KEYWORD_COLUMNS} for row in rows],
                          indent=2) + "\n"
    else:
        text = keyword_csv(rows)
    if output is None:
        sys.stdout.write(text)
        return
    write_output(output, text.encode())
    count = len(rows)
    out.print(f"wrote {count} keywords to {output}", markup=False, highlight=False)


@keyword_app.command("list")
@tabular
def keyword_list(ctx: typer.Context,
                 all_: bool = typer.Option(False, "--all", help="Include removed keywords."),
                 as_json: bool = JSON) -> None:
    """Tracked keywords. Example: vipb rank keyword list"""
    rows = run_command(ctx, ListKeywords, {"include_removed": all_})
    columns = ["keyword", "engine", "country", "device", "depth", "state"]
    if not as_json and rendering().for_people:
        # places and exit rules only when some keyword has them: the table stays narrow
        for name in ("location", "language"):
            if any(row.get(name) for row in rows):
                columns.insert(columns.index("device"), name)
        if any(row.get("any_exit_country") for row in rows):
            columns.insert(columns.index("state"), "exits")
            for row in rows:
                row["exits"] = "any" if row.get("any_exit_country") else "own"
    emit(rows, as_json, columns=columns)


@app.command("engines")
@tabular
def engines(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Search engines defined now (shipped, and from VIPB_ENGINES_DIR).

    Example: vipb rank engines --json
    """
    rows = run_command(ctx, ListEngines, {})
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
                        task.get("device"), quote=True, location=task.get("location"),
                        language=task.get("language")) + ": "
    if task["state"] == "completed":
        if task.get("no_results"):
            summary = "no results (the engine said so twice, through two routes)"
        else:
            summary = f"{task['results_scanned']} results scanned"
        summary += where_from(task)
        if task.get("features"):
            summary += f"; page 1 showed {feature_text(task['features'])}"
        if "consent" in task.get("notices", []):
            summary += "; a consent dialog was shown over the results"
        lines = [head + summary]
        exit_note = where_from(task)
        for p in task["positions"]:
            if p["position"] is None:
                lines.append(f"  {p['domain']}: not ranked in {p['results_scanned']} "
                             f"results{exit_note}")
            else:
                title = f"  \"{p['title']}\"" if p.get("title") else ""
                lines.append(f"  {p['domain']}: #{p['position']}{exit_note}  {p['url']}{title}")
        return lines
    if task["state"] == "failed":
        return [head + f"search failed after {task['attempts']} attempts: {task['error']}"]
    return [head + f"{task['state']} (task {task['id']})"]


@app.command("run")
def run(
    ctx: typer.Context,
    keyword: list[str] = typer.Option([], "--keyword", "-k",
                                      help="Search these words, on each engine and place "
                                           "they are tracked with (untracked: once, on "
                                           "--engine or default_engine); repeatable. Default: "
                                           "every tracked keyword."),
    engine: str | None = typer.Option(None, "--engine", help=ENGINES_HELP + "."),
    country: str | None = COUNTRY,
    location: str | None = LOCATION,
    language: str | None = LANGUAGE,
    device: str | None = typer.Option(None, "--device",
                                      help="desktop or mobile (tracked keywords: only that "
                                           "device; untracked: default desktop)."),
    depth: int | None = typer.Option(None, "--depth", help="Results to scan (1..100)."),
    profile: str = typer.Option("default", "--profile", help="Privacy profile of the tabs."),
    proxy: str = typer.Option("auto", "--proxy", help="auto, a proxy id, or direct."),
    any_exit_country: bool | None = typer.Option(
        None, "--any-exit-country/--own-country-only",
        help="This run only: let a proxy of another country stand in when none of the "
             "search's own is available (the exit is shown beside each position), or never. "
             "Default: as each keyword says."),
    no_wait: bool = NO_WAIT,
    timeout: float = WAIT_TIMEOUT,
    as_json: bool = JSON,
) -> None:
    """Search now and record positions of every target domain (progress on stderr).

    Example: vipb rank run -k "espresso grinder" -k "burr grinder" --engine bing --country DE
    """
    payload = {"keywords": keyword or None, "engine": engine, "country": country,
               "location": location, "language": language, "device": device,
               "depth": depth, "profile": profile, "any_exit_country": any_exit_country,
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
    with held_interrupts() as caught:  # a Ctrl-C now is answered with the searches' ids
        queued = commands.execute(command)
    ids = [t["id"] for t in queued["tasks"]]
    if caught:
        _interrupted(commands, ids)
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

    try:
        finished = with_progress(f"searching {len(ids)} keyword(s)", wait, as_json)
    except KeyboardInterrupt:
        _interrupted(commands, ids)
    results = results_of(commands, ids)
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


def _interrupted(commands: Commands, ids: list[str]) -> NoReturn:
    """Ctrl-C during a run: say what becomes of its searches (in process: cancelled on
    record, a second Ctrl-C held until that is done) and end with 130."""
    with held_interrupts():
        said = interrupted(commands, ids)
    err.print(said, highlight=False, markup=False)
    raise typer.Exit(130)


@app.command("stop")
def stop(ctx: typer.Context,
         task_id: str | None = typer.Argument(None, help="Task id (default: all)."),
         as_json: bool = JSON) -> None:
    """Cancel queued or running searches. Example: vipb rank stop"""
    ref = resolve(ctx, "task", task_id) if task_id is not None else None
    stopped = run_command(ctx, StopSearch, {"task_id": ref})
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
    """Search tasks, newest first, with why one failed (``no_proxy_in_country``: no proxy
    of its country; the error names it). Example: vipb rank tasks --state failed"""
    rows = run_command(ctx, GetTasks, {"state": state_, "limit": limit})
    if not as_json and rendering().for_people:
        for row in rows:
            row["search"] = search_label(row["keyword"], row["engine"], row.get("country"),
                                         row.get("device"), location=row.get("location"),
                                         language=row.get("language"))
    emit(rows, as_json,
         columns=["id", "search", "state", "reason", "exit_country", "error", "queued_at"])


@app.command("history")
@tabular
def history(ctx: typer.Context,
            domain: str | None = typer.Option(None, "--domain", help="Only this target "
                                                                      "domain."),
            keyword: str | None = typer.Option(None, "--keyword", "-k",
                                               help="Only this keyword."),
            engine: str | None = typer.Option(None, "--engine", help="Only this engine."),
            country: str | None = typer.Option(None, "--country", help="Only searches "
                                                                        "for this country."),
            device: str | None = typer.Option(None, "--device", help="Only desktop or "
                                                                      "mobile searches."),
            location: str | None = typer.Option(None, "--location",
                                                help="Only searches near this place."),
            limit: int = typer.Option(100, "--limit", help="At most this many rows."),
            as_json: bool = JSON) -> None:
    """Position history, newest first: when, which search (keyword on engine, country,
    place, device), the domain's position and the change since the previous search (+ up;
    new: first search; entered, lost: ranked this time, or the time before, only). A
    position a re-read of the stored page changed says "revised"; one searched from
    another country than asked says its exit.
    -c url,title,features,task_id shows what ranked, what page 1 showed, and the task (for
    `vipb rank evidence`).

    Example: vipb rank history --domain example.com --country DE --json
    """
    rows = run_command(ctx, GetPositions, {"domain": domain, "keyword": keyword, "engine": engine,
                                    "country": country, "device": device,
                                    "location": location, "limit": limit})
    if not as_json and rendering().for_people:
        for row in rows:
            row["change"] = movement(row["position"], row.get("previous_position"),
                                     row.get("previous_at") is not None)
            row["position"] = position_text(row)
            row["features"] = feature_text(row["features"])
            row["search"] = search_label(row["keyword"], row["engine"], row.get("country"),
                                         row.get("device"), location=row.get("location"),
                                         language=row.get("language"))
    emit(rows, as_json, columns=["recorded_at", "search", "domain", "position", "change"])


# --- evidence and re-reading ---------------------------------------------------------------------

@app.command("evidence")
def evidence(
    ctx: typer.Context,
    task_id: str = typer.Argument(..., help="The search task (id or unique prefix; see "
                                            "`vipb rank tasks` or `history -c task_id`)."),
    output: Path = typer.Option(..., "--output", "-o",
                                help="Write the page here (- for stdout)."),
    page: int = typer.Option(1, "--page", help="Which of the search's pages (1 = the "
                                               "first results page)."),
    as_json: bool = JSON,
) -> None:
    """Write a results page a search read, as it was read: scripts and anything that would
    load or run removed, with a banner (engine, query, time, where it left from, the
    layout and definition that read it).

    Example: vipb rank evidence 3f2a -o page.html
    """
    ref = resolve(ctx, "task", task_id)
    found = run_command(ctx, GetEvidence, {"task_id": ref, "page": page})
    html = found.pop("html")
    if html is None:
        raise ValidationError(f"page {found['page']} of task {ref} ({found['hash'][:12]}) is "
                              f"no longer kept: {found['note']}", field="task_id")
    if str(output) == "-":
        sys.stdout.write(html)
        sys.stdout.flush()
        return
    write_output(output, html.encode())
    emit({**found, "output": str(output)}, as_json,
         said=f"wrote {output}: page {found['page']} of {found['pages']} of task {ref}, "
              f"read at {found['url']} (kept since {found['first_at'][:16]}; sha256 "
              f"{found['hash'][:12]})")


@app.command("reparse")
def reparse(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Only searches finished since "
                                                           "then: 30d, 12h, or an ISO time."),
    engine: str | None = typer.Option(None, "--engine", help="Only this engine's searches."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; record "
                                                          "nothing."),
    as_json: bool = JSON,
) -> None:
    """Read the stored results pages of finished searches again with today's engine
    definitions, and record PositionRevised wherever an answer changes (the first answer
    stays on record; history and reports mark the revised one). Searches read by today's
    definitions already, or whose pages are gone, are left as they are.

    Example: vipb rank reparse --since 30d --engine google --dry-run
    """
    payload: dict[str, Any] = {"engine": engine, "dry_run": dry_run,
                               "since": parse_since(since).isoformat() if since else None}
    command = parse_command(Reparse, payload)
    commands = state(ctx).commands()
    result = with_progress("re-reading stored pages",
                           lambda report: commands.execute(command, progress=report), as_json)
    if as_json:
        print_json(result)
        return
    verb = "would revise" if dry_run else "revised"
    for change in result["revised"]:
        old = f"#{change['old']}" if change["old"] is not None else "not ranked"
        new = (f"#{change['new']}" if change["new"] is not None
               else f"not ranked in {change['results_scanned']}")
        label = search_label(change["keyword"], change["engine"], change.get("country"),
                             change.get("device"), quote=True, location=change.get("location"))
        out.print(f"{verb} {change['domain']} for {label}: {old} -> {new} "
                  f"(task {change['task_id'][:8]})", markup=False, highlight=False)
    skipped = result["skipped"]
    out.print(f"{result['tasks']} finished search(es): {result['reread']} re-read, "
              f"{len(result['revised'])} answer(s) {verb}, {result['unchanged']} unchanged; "
              f"left as they were: {skipped['same_definition']} read by today's definitions "
              f"already, {skipped['no_pages']} without kept pages, {skipped['pages_gone']} "
              f"whose pages are gone, {skipped['unreadable']} unreadable now",
              markup=False, highlight=False)
    for problem in result["unreadable"][:5]:
        err.print(f"  task {problem['task_id'][:8]}: {problem['reason']}", markup=False,
                  highlight=False)


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
    digest: str | None = typer.Option(
        None, "--digest", help="Send each run's movement summary, once its searches are "
        "over, to this e-mail address or webhook URL (alert rule NAME-digest)."),
    digest_secret_file: Path | None = typer.Option(
        None, "--digest-secret-file", help="The digest webhook's signing secret: first line "
        "of this file ('-': stdin), 16+ characters."),
    as_json: bool = JSON,
) -> None:
    """Run rank tracking (and creator checks) on a schedule (fires while `vipb host run`
    runs).

    Example: vipb schedule add daily --cron "0 6 * * *" --timezone Europe/Berlin --digest me@x.org
    """
    create = parse_command(CreateSchedule, {
        "name": name, "cron": cron, "timezone": timezone, "keywords": keyword or None,
        "profile": profile, "proxy": resolve_proxy_choice(ctx, proxy),
        "searches": not no_searches, "creators": creator or None, "all_creators": creators})
    rule = None
    if digest is not None:  # checked before anything is written
        channel = {k: v for k, v in channel_payload(digest, digest_secret_file).items()
                   if v is not None}
        rule = parse_command(AddAlertRule, {"name": f"{name}-digest", "kind": "digest",
                                            "schedule": name, **channel})
    commands = state(ctx).commands()
    made = commands.execute(create)
    if rule is not None:
        try:
            commands.execute(rule)
        except BaseError as exc:
            exc.message = f"schedule {name} was added, its digest was not: {exc.message}"
            exc.args = (exc.message,)
            raise
        made = {**made, "digest": {"rule": rule.name, "sent_to": shown_channel(channel)}}
    emit(made if as_json else in_own_zone(made), as_json)


@schedule_app.command("pause")
def schedule_pause(ctx: typer.Context,
                   name: str = typer.Argument(..., help="The schedule's name."),
                   as_json: bool = JSON) -> None:
    """Pause a schedule. Example: vipb schedule pause mornings"""
    ack = run_command(ctx, PauseSchedule, {"name": name})
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
    ack = run_command(ctx, ResumeSchedule, {"name": name})
    emit(ack, as_json, said=said(ack, f"resumed schedule {name}",
                                 f"schedule {name} was not paused"))


@schedule_app.command("remove")
def schedule_remove(ctx: typer.Context,
                    name: str = typer.Argument(..., help="The schedule's name."),
                    as_json: bool = JSON) -> None:
    """Remove a schedule (its history stays). Example: vipb schedule remove mornings"""
    ack = run_command(ctx, RemoveSchedule, {"name": name})
    emit(ack, as_json, said=said(ack, f"removed schedule {name} (its history stays)",
                                 f"schedule {name} was already removed"))


@schedule_app.command("list")
@tabular
def schedule_list(ctx: typer.Context,
                  all_: bool = typer.Option(False, "--all", help="Include removed ones."),
                  as_json: bool = JSON) -> None:
    """Schedules and their next run (in each schedule's own zone; --json: UTC).

    Example: vipb schedule list --json
    """
    rows = run_command(ctx, ListSchedules, {"include_removed": all_})
    if not as_json and rendering().for_people:
        rows = [in_own_zone(row) for row in rows]
    emit(rows, as_json, columns=["name", "cron", "timezone", "state", "next_run_at"])
