"""The creator-watch actor: the creators' write side (add, update, remove, record checks).

Creators are found in the event store (``known_ids``: not removed, from the stored topics)
and loaded on first use; this actor is their only writer from then on, so names stay unique
without asking the read models.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

from actors.base import VipbActor
from actors.creator_check import CheckResult
from actors.writer import EventWriter
from domain.creator import Creator
from domain.creator_commands import AddCreator, RemoveCreator, UpdateCreator
from domain.errors import ValidationError
from domain.results import Ack

log = logging.getLogger(__name__)


class CreatorWatchActor(VipbActor):
    """Owns every ``Creator`` aggregate."""

    def __init__(self, writer: EventWriter, known_ids: Callable[[], list[str]]) -> None:
        super().__init__()
        self._writer = writer
        self._known_ids = known_ids
        self._creators: dict[str, Creator] | None = None  # casefolded name -> creator

    def _all(self) -> dict[str, Creator]:
        if self._creators is None:
            self._creators = {}
            for creator_id in self._known_ids():
                creator = self._writer.load(Creator, UUID(creator_id))
                if creator is not None and not creator.removed:
                    self._creators[creator.name.casefold()] = creator
        return self._creators

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

    def target(self, name: str) -> tuple[str, str]:
        """(name as added, URL) of the creator to check."""
        creator = self.get(name)
        return creator.name, creator.url

    def record(self, name: str, result: CheckResult) -> dict[str, Any]:
        """Record a finished check (``changed`` decided by the aggregate); the reply of
        ``automation:check-creator``."""
        creator = self.get(name)
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
        del self._all()[command.name.casefold()]
        return Ack.of(creator.id, ids)
