"""A run's outcomes are read back whole however many searches it queued (``rank run``
over 1,200 tracked keywords used to fail at its end: ``GetResults`` takes 1,000 ids)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any

import pytest

from domain.commands import Command
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.rank_commands import GetResults
from entrypoints.cli.context import Commands
from entrypoints.cli.search_wait import results_of


class _Answering(Commands):
    """Answers ``GetResults`` as the handler does (one row per id, in order), after
    validating the command again as the socket's boundary does."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    @property
    def in_process(self) -> bool:
        return True

    def execute(self, command: Command, client: str = "local", progress: Any = None) -> Any:
        checked = parse_command(type(command), command.model_dump(mode="json"))
        assert isinstance(checked, GetResults)
        self.asked.append(len(checked.task_ids))
        return [{"id": task_id, "state": "completed"} for task_id in checked.task_ids]

    def follow(self, after: int | None, until: Callable[[dict[str, Any]], bool],
               timeout: float, events: Collection[str] | None = None) -> bool:
        raise AssertionError("not followed")

    def keep_running(self, what: str, field: str, instead: str = "") -> None:
        raise AssertionError("not asked")


def _ids(n: int) -> list[str]:
    return [f"{i:032x}" for i in range(n)]


@pytest.mark.parametrize("count", [1, 999, 1000, 1001, 2500])
def test_every_outcome_comes_back_in_order(count: int) -> None:
    commands, ids = _Answering(), _ids(count)
    assert [row["id"] for row in results_of(commands, ids)] == ids
    assert len(commands.asked) == math.ceil(count / 1000)
    assert max(commands.asked) <= 1000


def test_one_command_cannot_ask_for_more_than_the_pieces() -> None:
    with pytest.raises(ValidationError, match="task_ids"):
        parse_command(GetResults, {"task_ids": _ids(1001)})
