"""Search planning in the domain: which searches a run asks for, from the tracked targets."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import AutomationError
from domain.parsing import parse_command
from domain.rank import Place, RankTargets
from domain.rank_commands import DEFAULT_DEPTH, StartSearch
from domain.search_plan import DEFAULT_ENGINE, plan, profile_for, tasks, tracked


def _targets() -> RankTargets:
    t = RankTargets(id=uuid.uuid4())
    t.track_domain("example.com", True)
    t.track_keyword("Espresso  Grinder", "google", 50, "desktop", Place("DE", "Berlin", "de"))
    t.track_keyword("espresso grinder", "bing", 30, "mobile", Place("FR"))
    t.track_keyword("burr grinder", "google", 20, "desktop", Place("DE", any_exit_country=True))
    return t


def _start(**fields: object) -> StartSearch:
    return parse_command(StartSearch, fields)


def test_every_tracked_keyword_matching_the_filters() -> None:
    assert len(plan(_targets(), _start())) == 3
    german = plan(_targets(), _start(country="DE"))
    assert {s.keyword for s in german} == {"Espresso  Grinder", "burr grinder"}
    assert [s.engine for s in plan(_targets(), _start(device="mobile"))] == ["bing"]
    assert plan(_targets(), _start(country="DE", location="Berlin"))[0].language == "de"


def test_named_words_are_searched_as_tracked_and_untracked_ones_once_as_given() -> None:
    searches = plan(_targets(), _start(keywords=["ESPRESSO grinder", "new words"]))
    as_tracked = [s for s in searches if s.keyword != "new words"]
    assert {(s.engine, s.device, s.depth) for s in as_tracked} == {
        ("google", "desktop", 50), ("bing", "mobile", 30)}
    new = next(s for s in searches if s.keyword == "new words")
    assert (new.engine, new.device, new.depth, new.country) == (
        DEFAULT_ENGINE, "desktop", DEFAULT_DEPTH, None)


def test_a_schedules_keywords_when_the_command_names_none() -> None:
    searches = plan(_targets(), _start(), keywords=["burr grinder"])
    assert [(s.keyword, s.any_exit_country) for s in searches] == [("burr grinder", True)]


def test_the_command_overrides_depth_and_exit_rule() -> None:
    searches = plan(_targets(), _start(depth=10, any_exit_country=False))
    assert {s.depth for s in searches} == {10}
    assert not any(s.any_exit_country for s in searches)


def test_nothing_to_look_for_or_nothing_to_search_is_refused_with_the_fix() -> None:
    empty = RankTargets(id=uuid.uuid4())
    with pytest.raises(AutomationError, match="no target domains: add one first"):
        plan(empty, _start())
    with pytest.raises(AutomationError, match="no tracked keywords match"):
        plan(_targets(), _start(engine="yandex"))


def test_tasks_carry_the_targets_of_the_moment_and_the_devices_profile() -> None:
    targets = _targets()
    made = tasks(plan(targets, _start(device="mobile")), targets, _start(), "manual")
    assert len(made) == 1
    assert made[0].domains == {"example.com": True}
    assert made[0].profile == "default-mobile"
    assert profile_for("Default", "mobile") == "default-mobile"
    assert profile_for("work", "mobile") == "work"
    assert profile_for("default", "desktop") == "default"
    assert len(tracked(targets, ["burr  GRINDER"])) == 1
