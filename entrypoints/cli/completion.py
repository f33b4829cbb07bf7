"""Shell completion of the values people type: ids, names and engines, read from the views.

Completion runs in the shell's own process for every Tab press, without the root command's
callback (click parses the line leniently and runs no command): so each completer opens the
data dir's views read-only itself (the ``--data-dir`` typed on the line counts), answers from
one query, and never prints an error into the shell: a data dir that is not there yet, a host
being restored or a broken config file complete to nothing.

Which parameter completes to what is one table (``COMPLETERS``), applied to every command by
``add_completers``: a new command that takes a ``proxy_id`` or a profile name completes
without anyone remembering to wire it (a test walks the tree).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import typer

from entrypoints.cli.command_tree import parameters, walk
from entrypoints.cli.formats import printable

log = logging.getLogger(__name__)

ABOUT_CHARS = 60
Choice = tuple[str, str]  # (value, what it is: shown by zsh and fish)
Completer = Callable[[typer.Context, str], list[Choice]]


def _rows(ctx: typer.Context, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` from the views of the data dir the command line names."""
    from entrypoints.cli.context import CliState  # the store is only opened to complete

    try:
        flag = ctx.find_root().params.get("data_dir")
        cli = CliState(data_dir_flag=Path(flag) if flag else None)
        with closing(cli.store().connect_read_only()) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
    except Exception:  # nothing to offer beats a traceback in the middle of a command line
        log.debug("completion query failed", exc_info=True)
        return []


def _from_views(sql: str, *fixed: Choice) -> Completer:
    """A completer offering ``fixed`` and the (value, description) rows of ``sql``."""
    def complete(ctx: typer.Context, incomplete: str) -> list[Choice]:
        found = [*fixed, *((str(v), _about(more)) for v, *more in _rows(ctx, sql))]
        return [(value, about) for value, about in found if value.startswith(incomplete)]
    return complete


def _about(values: list[Any]) -> str:
    """A short description from the view's cells (they may hold text from the web: no
    control characters reach the shell)."""
    text = " ".join(str(x) for x in values if x not in (None, ""))
    return printable(text if len(text) <= ABOUT_CHARS else text[:ABOUT_CHARS - 1] + "…")


def _engines(ctx: typer.Context, incomplete: str) -> list[Choice]:
    from adapters.config_file import load_settings
    from adapters.serp import Engines

    try:
        settings = load_settings({}).settings
        names = Engines(settings.engines_dir, settings.engine_urls).names()
    except Exception:
        log.debug("engine completion failed", exc_info=True)
        return []
    return [(name, "search engine") for name in names if name.startswith(incomplete)]


def _tables(ctx: typer.Context, incomplete: str) -> list[Choice]:
    from projections.queries import READ_TABLES

    return [(name, "read table") for name in sorted(READ_TABLES) if name.startswith(incomplete)]


_PROXIES = "SELECT id, host || ':' || port, label, status FROM proxies ORDER BY host, port"
PROXY_IDS = _from_views(_PROXIES)
PROXY_CHOICES = _from_views(_PROXIES, ("auto", "the rotation strategy picks"),
                            ("direct", "no proxy"))
TAB_IDS = _from_views("SELECT id, url FROM tabs WHERE state = 'open' ORDER BY opened_at")
TASK_IDS = _from_views("SELECT id, keyword, engine, state FROM search_tasks "
                       "ORDER BY queued_at DESC LIMIT 200")
PROFILES = _from_views("SELECT name, platform, locale FROM privacy_profiles ORDER BY name")
CREATORS = _from_views("SELECT name, url FROM creators WHERE removed_at IS NULL ORDER BY name")
SCHEDULES = _from_views("SELECT name, cron, timezone FROM schedules "
                        "WHERE state != 'removed' ORDER BY name")
SESSIONS = _from_views("SELECT name, tab_count || ' tab(s)' FROM sessions ORDER BY name")
ALERT_RULES = _from_views("SELECT name, kind FROM alert_rules WHERE removed_at IS NULL "
                          "ORDER BY name")
DOMAINS = _from_views("SELECT domain FROM target_domains WHERE removed_at IS NULL "
                      "ORDER BY domain")
KEYWORDS = _from_views("SELECT DISTINCT keyword FROM keywords WHERE removed_at IS NULL "
                       "ORDER BY keyword")

# (group, parameter) first, then the parameter alone; a name that is new (``privacy
# create``, ``schedule add``, ...) is not completed: anything goes there.
COMPLETERS: dict[tuple[str, str] | str, Completer | None] = {
    "proxy_id": PROXY_IDS, "proxy_ids": PROXY_IDS, "proxy": PROXY_CHOICES,
    "tab_id": TAB_IDS, "tab": TAB_IDS, "task_id": TASK_IDS, "aggregate": None,
    "profile": PROFILES, "creator": CREATORS, "engine": _engines, "table": _tables,
    "domain": DOMAINS, "keyword": KEYWORDS, "rule": ALERT_RULES, "schedule": SCHEDULES,
    ("privacy", "name"): PROFILES, ("schedule", "name"): SCHEDULES,
    ("creator", "name"): CREATORS, ("session", "name"): SESSIONS,
    ("alert", "name"): ALERT_RULES,
    ("rank domain", "domain"): DOMAINS,
}
NEW_NAMES = {("privacy", "create"), ("schedule", "add"), ("creator", "add"),
             ("session", "save"), ("alert", "add"), ("rank domain", "add"),
             ("rank keyword", "add")}


def completer_for(group: str, command: str, param: str) -> Completer | None:
    """What ``param`` of ``group command`` completes to (None: nothing from the views)."""
    if (group, command) in NEW_NAMES and param in ("name", "domain", "keyword"):
        return None
    return COMPLETERS.get((group, param), COMPLETERS.get(param))


def add_completers(app: typer.Typer) -> list[tuple[str, str, str]]:
    """Give each parameter of ``app``'s commands its completer (unless it has one); the
    (group, command, parameter) of each one given."""
    tree = [(group, name, param, declared) for group, name, info in walk(app)
            for param, _annotation, declared in parameters(info)]
    fresh = {id(declared) for group, name, param, declared in tree
             if completer_for(group, name, param) is None}
    given = []
    for group, name, param, declared in tree:
        complete = completer_for(group, name, param)
        if complete is None or declared.autocompletion is not None:
            continue
        if id(declared) in fresh:  # one object declared for a new name and an existing one
            raise AssertionError(f"{group} {name}: {param} shares its declaration with a "
                                 "parameter that takes a new value: declare it apart")
        declared.autocompletion = complete
        given.append((group, name, param))
    return given
