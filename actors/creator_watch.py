"""The creator-watch actor: the creators' write side (add, update, remove, record checks).

Creators are found in the event store (``known_ids``: not removed, from the stored topics)
and loaded on first use; this actor is their only writer from then on, so names stay unique
without asking the read models. On a store several hosts share (``shared``) it also follows
the creator events other hosts record, and a check recorded on a creator another host just
changed is recorded again on the fresh one.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pykka

from actors.base import VipbActor
from actors.creator_check import CheckResult, CreatorCheck
from actors.follow import ChangedSince, replace_cached
from actors.writer import EventWriter
from domain import rules
from domain.creator import Creator
from domain.creator_commands import AddCreator, RemoveCreator, UpdateCreator
from domain.egress import EgressPolicy
from domain.errors import ConcurrencyError, ValidationError
from domain.results import Ack

log = logging.getLogger(__name__)

CREATOR_TOPICS = [f"{Creator.__module__}:{Creator.__qualname__}.{name}" for name in (
    "CreatorAdded", "CreatorUpdated", "CreatorRemoved", "CreatorChecked")]


class CreatorWatchActor(VipbActor):
    """Owns every ``Creator`` aggregate."""

    def __init__(self, writer: EventWriter, known_ids: Callable[[], list[str]],
                 shared: bool = False) -> None:
        super().__init__()
        self._writer = writer
        self._known_ids = known_ids
        self._shared = shared
        self._others: ChangedSince | None = None
        self._creators: dict[str, Creator] | None = None  # casefolded name -> creator

    def _all(self) -> dict[str, Creator]:
        if self._creators is None:
            if self._shared:
                self._others = ChangedSince(self._writer.app.recorder, CREATOR_TOPICS)
            self._creators = {}
            for creator_id in self._known_ids():
                creator = self._writer.load(Creator, UUID(creator_id))
                if creator is not None and not creator.removed:
                    self._creators[creator.name.casefold()] = creator
        elif self._others is not None:
            for changed in self._others.take():
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

    def target(self, name: str) -> tuple[str, str]:
        """(name as added, URL) of the creator to check."""
        creator = self.get(name)
        return creator.name, creator.url

    def record(self, name: str, result: CheckResult) -> dict[str, Any]:
        """Record a finished check (``changed`` decided by the aggregate); the reply of
        ``automation:check-creator``."""
        creator = self.get(name)
        changed = creator.record_check(**result.fields())
        try:
            ids = self._writer.save(creator)
        except ConcurrencyError:
            fresh = self._reload(creator.id) if self._shared else None
            if fresh is None:
                raise
            creator = fresh  # another host changed it meanwhile: record on what is there
            changed = creator.record_check(**result.fields())
            ids = self._writer.save(creator)
        return {"name": creator.name, "url": creator.url, **result.fields(),
                "changed": changed, "first": creator.checks == 1,
                "position": ids[-1] if ids else 0}

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


class CreatorRunner:
    """Creator checks started in the background (by schedules): at most ``workers`` at once;
    a creator whose previous check still runs is not started again."""

    def __init__(self, check: CreatorCheck, watch: pykka.ActorProxy[CreatorWatchActor],
                 egress: EgressPolicy, workers: int) -> None:
        self._check = check
        self._watch = watch
        self._egress = egress
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="vipb-creator-check")
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def names(self, everyone: bool, names: list[str] | None,
              strict: bool = True) -> list[str]:
        """See ``CreatorWatchActor.names``."""
        found: list[str] = self._watch.names(everyone, names, strict).get(timeout=60)
        return found

    def check_now(self, name: str, profile: str, proxy: str,
                  country: str | None) -> dict[str, Any]:
        """Check the creator in the calling thread (the watch actor stays free) and record
        it there; the recorded check (``automation:check-creator``'s reply)."""
        shown, url = self._watch.target(name).get(timeout=60)
        rules.require_public_target(url, self._egress, "url")  # the policy may have changed
        result = self._check.run(url, f"creator {shown}", profile, proxy, country)
        recorded: dict[str, Any] = self._watch.record(shown, result).get(timeout=60)
        return recorded

    def start(self, names: list[str], profile: str, proxy: str) -> list[str]:
        """Start checks of ``names``; returns those started (not already running)."""
        started: list[str] = []
        for name in names:
            with self._lock:
                if name.casefold() in self._running:
                    continue
                self._running.add(name.casefold())
            started.append(name)
            self._pool.submit(self._one, name, profile, proxy)
        return started

    def _one(self, name: str, profile: str, proxy: str) -> None:
        try:
            self.check_now(name, profile, proxy, None)
        except Exception:
            log.exception("scheduled check of creator %s failed", name)
        finally:
            with self._lock:
                self._running.discard(name.casefold())

    def close(self) -> None:
        """Drop checks not started; running ones stop retrying and finish with what they
        have (their tabs close with the host)."""
        self._check.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
