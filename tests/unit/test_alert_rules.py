"""Alert rules as pure functions: what fires on a series of positions, the messages, the
delivery backoff, and the command's coherence checks."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.alert_courier import DeliveryPolicy
from domain.alert import creator_fires, position_fires, position_message
from domain.alert_commands import AddAlertRule
from domain.errors import ValidationError
from domain.parsing import parse_command

positions = st.lists(st.one_of(st.none(), st.integers(1, 100)), min_size=2, max_size=40)


def fired(kind: str, threshold: int | None, series: list[int | None]) -> list[int]:
    """Indexes of the outcomes (after the first) that fire."""
    return [i for i in range(1, len(series))
            if position_fires(kind, threshold, series[i - 1], series[i])]


@given(positions, st.integers(1, 50))
def test_entering_and_leaving_the_top_alternate(series: list[int | None], n: int) -> None:
    enters, leaves = fired("enters-top", n, series), fired("leaves-top", n, series)
    assert not set(enters) & set(leaves)
    marks = sorted([(i, "in") for i in enters] + [(i, "out") for i in leaves])
    assert all(a[1] != b[1] for a, b in itertools.pairwise(marks))
    inside = [p is not None and p <= n for p in series]
    assert len(enters) == sum(1 for a, b in itertools.pairwise(inside) if b and not a)


@given(positions)
def test_starting_and_stopping_alternate_and_follow_the_ranked_flag(
        series: list[int | None]) -> None:
    starts, stops = fired("starts-ranking", None, series), fired("stops-ranking", None, series)
    ranked = [p is not None for p in series]
    assert starts == [i for i in range(1, len(series)) if ranked[i] and not ranked[i - 1]]
    assert stops == [i for i in range(1, len(series)) if ranked[i - 1] and not ranked[i]]


@given(positions, st.integers(1, 50))
def test_a_move_fires_only_between_two_ranks_at_least_k_apart(series: list[int | None],
                                                              k: int) -> None:
    for i in fired("moves", k, series):
        before, after = series[i - 1], series[i]
        assert before is not None and after is not None and abs(after - before) >= k


def test_creator_rules() -> None:
    assert creator_fires("unreachable", None, reachable=False, changed=False)  # first check
    assert creator_fires("unreachable", True, reachable=False, changed=False)
    assert not creator_fires("unreachable", False, reachable=False, changed=False)
    assert not creator_fires("unreachable", True, reachable=True, changed=True)
    assert creator_fires("content-changed", True, reachable=True, changed=True)
    assert not creator_fires("content-changed", True, reachable=True, changed=False)


@pytest.mark.parametrize(("before", "after", "text"), [
    (2, 1, "moved up 1 place"), (1, 3, "moved down 2 places")])
def test_move_messages_say_which_way_and_how_far(before: int, after: int, text: str) -> None:
    message = position_message("moves", 1, "example.com", "'tea' on bing", before, after, 30)
    assert message == f"example.com {text} for 'tea' on bing: #{before} -> #{after}"


@given(st.integers(1, 30), st.floats(0.0, 100.0), st.floats(0.0, 5000.0))
def test_delivery_waits_double_with_jitter_capped_and_run_out(attempts: int, initial: float,
                                                             maximum: float) -> None:
    policy = DeliveryPolicy(attempts=attempts, initial=initial, maximum=maximum)
    rng = random.Random(attempts)
    for attempt in range(1, attempts):
        base = min(maximum, initial * 2.0 ** (attempt - 1))
        delay = policy.delay(attempt, rng)
        assert delay is not None and base / 2 <= delay <= base
    assert policy.delay(attempts, rng) is None


@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "enters-top", "email": "a@example.com"}, "threshold"),
    ({"kind": "moves", "threshold": 2, "creator": "jane", "email": "a@example.com"},
     "creator"),
    ({"kind": "unreachable", "keyword": "tea", "email": "a@example.com"}, "keyword"),
    ({"kind": "unreachable", "email": "a@example.com", "secret": "x" * 20}, "secret"),
    ({"kind": "unreachable", "email": "a@b.example\nBcc: c@d.example"}, "email"),
])
def test_incoherent_rules_are_refused_naming_the_field(payload: dict[str, object],
                                                       field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_command(AddAlertRule, {"name": "r", **payload})
    assert refused.value.field == field
