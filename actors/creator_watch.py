"""The creator-watch actor: the creators' write side (add, update, remove, record checks).

Creators are found in the event store (``known_ids``: not removed, from the stored topics)
and loaded on first use; this actor is their only writer from then on, so names stay unique
without asking the read models. On a store several hosts share (``shared``) it also follows
the creator events other hosts record, and a check recorded on a creator another host just
changed is recorded again on the fresh one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

from actors.base import VipbActor
from actors.claims import ClaimLost
from actors.creator_check import CheckResult
from actors.follow import replace_cached
from actors.writer import EventWriter
from adapters.store import Subscription
from domain.creator import Creator, CreatorCheckTask
from domain.creator_commands import AddCreator, RemoveCreator, UpdateCreator
from domain.errors import ConcurrencyError, ValidationError
from domain.events import events_of
from domain.results import Ack

log = logging.getLogger(__name__)

CREATOR_EVENTS = events_of(Creator, "CreatorAdded", "CreatorUpdated", "CreatorRemoved",
                           "CreatorChecked")


class CreatorWatchActor(VipbActor):
    """Owns every ``Creator`` aggregate."""

    def __init__(self, writer: EventWriter, known_ids: Callable[[], list[str]],
                 shared: bool = False) -> None:
        super().__init__()
        self._writer = writer
        self._known_ids = known_ids
        self._shared = shared
        self._others: Subscription | None = None
        self._creators: dict[str, Creator] | None = None  # casefolded name -> creator

    def _all(self) -> dict[str, Creator]:
        if self._creators is None:
            if self._shared:
                self._others = self._writer.log.follow(CREATOR_EVENTS)
            self._creators = {}
            for creator_id in self._known_ids():
                creator = self._writer.load(Creator, UUID(creator_id))
                if creator is not None and not creator.removed:
                    self._creators[creator.name.casefold()] = creator
        elif self._others is not None:
            for changed in self._others.changed():
                self._reload(changed)
        return self._creators

    def _reload(self, creator_id: UUID) -> Creator | None:
        """The creator as the store has it now (None: removed), cached by name."""
        assert self._creators is not None
        return replace_cached(self._creators, creator_id,
                              self._writer.load(Creator, creator_id))

    def get(self, name: str) -> Creator:
        """The creator named ``name`` (any case); refused when there is none."""
        creator = self._all().get(name.casefold())
        if creator is None:
            raise ValidationError(f"no creator named {name!r} (see `vipb creator list`)",
                                  field="name")
        return creator

    def creator_id(self, name: str) -> str:
        """The id of the creator named ``name``."""
        return str(self.get(name).id)

    def names(self, everyone: bool, names: list[str] | None,
              strict: bool = True) -> list[str]:
        """The creators a schedule checks: every enabled one, or those named; a disabled
        one is skipped, and so is one that does not exist unless ``strict`` (then refused:
        a schedule is created naming creators that exist; one removed since is passed over
        when it fires)."""
        if everyone:
            return sorted((c.name for c in self._all().values() if c.enabled),
                          key=str.casefold)
        found = []
        for name in names or []:
            creator = self._all().get(name.casefold())
            if creator is None:
                if strict:
                    self.get(name)  # raises, naming it
                log.warning("creator %s no longer exists: not checked", name)
            elif creator.enabled:
                found.append(creator.name)
        return found

    def check_targets(self, everyone: bool, names: list[str] | None) -> list[tuple[str, str]]:
        """(id, name) of each creator a schedule's run checks (see ``names``, not strict)."""
        creators = self._all()
        return [(str(creators[n.casefold()].id), n)
                for n in self.names(everyone, names, strict=False)]

    def target(self, name: str) -> tuple[str, str]:
        """(name as added, URL) of the creator to check."""
        creator = self.get(name)
        return creator.name, creator.url

    def target_of(self, creator_id: str) -> tuple[str, str, bool] | None:
        """(name, URL, enabled) of the creator with that id as this host knows it now
        (None: removed)."""
        creator = self._by_id(creator_id)
        return None if creator is None else (creator.name, creator.url, creator.enabled)

    def _by_id(self, creator_id: str) -> Creator | None:
        return next((c for c in self._all().values() if str(c.id) == creator_id), None)

    def record(self, name: str, result: CheckResult,
               task: CreatorCheckTask | None = None) -> dict[str, Any]:
        """Record a finished check (``changed`` decided by the aggregate); the reply of
        ``automation:check-creator``. With the scheduled ``task`` it checked, the task is
        finished in the same transaction: ``ClaimLost`` when another host took the task
        over meanwhile (that host records the check, this one nothing)."""
        creator = self.get(name) if task is None else self._by_id(task.creator_id)
        if creator is None:
            assert task is not None
            return self._skip(task, "the creator was removed while it was checked")
        expected = task.version if task is not None else 0
        changed = self._checked(creator, result, task)
        try:
            ids = self._writer.save(creator, *([task] if task is not None else []))
        except ConcurrencyError:
            fresh = self._reload(creator.id)  # the cached one holds the check not saved
            if task is not None:
                task = self._writer.load(CreatorCheckTask, task.id)
                if task is None or task.version != expected:
                    raise ClaimLost() from None
                if fresh is None:
                    return self._skip(task, "the creator was removed while it was checked")
            if fresh is None or not self._shared:
                raise
            creator = fresh  # another host changed it meanwhile: record on what is there
            changed = self._checked(creator, result, task)
            ids = self._writer.save(creator, *([task] if task is not None else []))
        return {"name": creator.name, "url": creator.url, **result.fields(),
                "changed": changed, "first": creator.checks == 1,
                "position": ids[-1] if ids else 0}

    @staticmethod
    def _checked(creator: Creator, result: CheckResult, task: CreatorCheckTask | None) -> bool:
        changed = creator.record_check(**result.fields())
        if task is not None:
            task.finished_with(outcome="checked", note=None)
        return changed

    def _skip(self, task: CreatorCheckTask, note: str) -> dict[str, Any]:
        task.finished_with(outcome="skipped", note=note)
        try:
            self._writer.save(task)
        except ConcurrencyError:
            raise ClaimLost() from None
        return {"name": task.name, "skipped": note}

    def add(self, command: AddCreator) -> Ack:
        """Watch a new page under a name no other watched creator has."""
        creators = self._all()
        if command.name.casefold() in creators:
            raise ValidationError(f"a creator named {command.name!r} exists; update or "
                                  "remove it first", field="name")
        creator = Creator(id=uuid.uuid4(), name=command.name, url=command.url,
                          platform=command.platform, priority=command.priority,
                          enabled=command.enabled, tags=list(command.tags))
        ids = self._writer.save(creator)
        creators[command.name.casefold()] = creator
        return Ack.of(creator.id, ids)

    def update(self, command: UpdateCreator) -> Ack:
        """Change what the command names; nothing recorded when nothing differs."""
        creator = self.get(command.name)
        changes = {k: getattr(command, k) for k in ("url", "platform", "priority", "enabled",
                                                    "tags") if getattr(command, k) is not None}
        if "tags" in changes:
            changes["tags"] = list(changes["tags"])
        creator.update(**changes)
        return Ack.of(creator.id, self._writer.save(creator))

    def remove(self, command: RemoveCreator) -> Ack:
        """Stop watching; the name is free again."""
        creator = self.get(command.name)
        creator.remove()
        ids = self._writer.save(creator)
        self._all().pop(command.name.casefold(), None)  # (a follower may have dropped it)
        return Ack.of(creator.id, ids)
