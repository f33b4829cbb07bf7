"""``Cached``: an answer is kept while its generation stays, made again once it moves, and a
change made while an answer is being made is never taken for one that answer saw."""

from __future__ import annotations

from actors.generation import Cached, Generation


def test_answers_are_kept_until_the_generation_moves() -> None:
    generation = Generation()
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return f"{key}@{generation.value}"

    cache: Cached[str, str] = Cached(generation, limit=2)
    assert cache.get("a", lambda: make("a")) == "a@0"
    assert cache.get("a", lambda: make("a")) == "a@0" and made == ["a"]
    generation.bump()
    assert cache.get("a", lambda: make("a")) == "a@1" and made == ["a", "a"]


def test_a_change_while_an_answer_is_made_is_seen_next_time() -> None:
    generation = Generation()
    cache: Cached[str, int] = Cached(generation, limit=8)

    def make_while_changed() -> int:
        generation.bump()  # the state moved under the answer being made
        return 1

    assert cache.get("k", make_while_changed) == 1
    assert cache.get("k", lambda: 2) == 2, "the answer made across a change was not kept"
    assert cache.get("k", lambda: 3) == 2


def test_a_full_cache_starts_again() -> None:
    cache: Cached[int, int] = Cached(Generation(), limit=2)
    for key in range(3):
        cache.get(key, lambda key=key: key)  # type: ignore[misc]
    assert cache.get(0, lambda: -1) == -1, "dropped when the third came"
    assert cache.get(2, lambda: -2) == 2
