"""Handlers of the creator-watch channels: writes to the ``CreatorWatchActor``, checks on
the creator runner, reads from ``projections.creators`` on settled views."""

from __future__ import annotations

from typing import Any

from domain import rules
from domain.creator_commands import (
    AddCreator,
    CheckCreator,
    CreatorHistory,
    ListCreators,
    RemoveCreator,
    UpdateCreator,
)
from projections import creators as queries
from service.handlers.deps import TIMEOUT, Deps


def _public(command: AddCreator | UpdateCreator, deps: Deps) -> None:
    """Refuse a page vipb may not reach directly (the tabs' rule: no private address unless
    allowed)."""
    if command.url is not None:
        rules.require_public_target(command.url, deps.egress, "url")


def add(c: AddCreator, deps: Deps) -> Any:
    """Watch a creator's page."""
    _public(c, deps)
    return deps.creators.add(c).get(timeout=TIMEOUT)


def update(c: UpdateCreator, deps: Deps) -> Any:
    """Change a watched creator."""
    _public(c, deps)
    return deps.creators.update(c).get(timeout=TIMEOUT)


def check(c: CheckCreator, deps: Deps) -> dict[str, Any]:
    """Check now, in the caller's thread, so the watch actor stays free."""
    return deps.creator_runner.check_now(c.name, c.profile, c.proxy, c.country)


def remove(c: RemoveCreator, deps: Deps) -> Any:
    """Stop watching a creator."""
    return deps.creators.remove(c).get(timeout=TIMEOUT)


def list_creators(c: ListCreators, deps: Deps) -> Any:
    """Creators from the view."""
    return deps.reads.query(queries.creators, c.include_removed)


def history(c: CreatorHistory, deps: Deps) -> Any:
    """A creator's checks from the view."""
    creator_id = deps.creators.creator_id(c.name).get(timeout=TIMEOUT)
    return deps.reads.query(queries.creator_history, creator_id, c.limit)


HANDLERS = {AddCreator: add, UpdateCreator: update, CheckCreator: check,
            RemoveCreator: remove, ListCreators: list_creators, CreatorHistory: history}
