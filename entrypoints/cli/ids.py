"""Ids as people type them: a full id or a unique prefix of any length (``vipb tab close
3f``), resolved against the read models before the command is sent; scripts on the socket
send full ids."""

from __future__ import annotations

from typing import Literal

import typer

from domain.errors import BaseError, ProxyNotFoundError, TabNotFoundError, ValidationError
from entrypoints.cli.context import state
from projections.queries import find_id

Kind = Literal["proxy", "tab", "task"]
_TABLES: dict[Kind, str] = {"proxy": "proxies", "tab": "tabs", "task": "search_tasks"}


def _not_found(kind: Kind, ref: str) -> BaseError:
    if kind == "proxy":
        return ProxyNotFoundError(ref)
    if kind == "tab":
        return TabNotFoundError(ref)
    return ValidationError(f"no search task with id {ref!r} (see `vipb rank tasks`)",
                           field="task_id")


def resolve(ctx: typer.Context, kind: Kind, ref: str) -> str:
    """The full id ``ref`` stands for; a clear error when none or several match."""
    reads = state(ctx).reads()
    reads.settle()
    with reads.reader() as conn:
        found = find_id(conn, _TABLES[kind], ref)
    if found is None:
        raise _not_found(kind, ref)
    return found


def resolve_proxy_choice(ctx: typer.Context, choice: str) -> str:
    """``auto`` and ``direct`` as they are; anything else is a proxy id or prefix."""
    if choice.strip().lower() in ("auto", "direct"):
        return choice
    return resolve(ctx, "proxy", choice)
