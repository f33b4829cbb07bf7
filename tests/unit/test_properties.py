"""Property tests: random and garbage input to every command model and to the line parser.

The only acceptable outcomes are a valid command or our ``ValidationError``; never a crash.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.commands import PROXY_COMMANDS, Command
from domain.errors import ValidationError
from domain.parsing import parse_command
from domain.proxy_lines import parse_proxy_line
from domain.rank_commands import RANK_COMMANDS
from domain.tab_commands import TAB_COMMANDS

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner,
                                                                 max_size=5),
    max_leaves=20,
)

ALL_COMMANDS: dict[str, type[Command]] = {**PROXY_COMMANDS, **TAB_COMMANDS,
                                          **RANK_COMMANDS}
FIELD_NAMES = sorted({name for model in ALL_COMMANDS.values() for name in model.model_fields})
payloads = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=20), json_values, max_size=8
)
plausible = st.fixed_dictionaries(
    {},
    optional={
        "protocol": st.sampled_from(["http", "https", "socks4", "socks5", "ftp", ""]),
        "host": st.text(max_size=300) | st.just("10.0.0.1"),
        "port": st.integers(-5, 70000) | st.text(max_size=6),
        "username": st.text(max_size=300),
        "password": st.text(max_size=300),
        "proxy_id": st.uuids().map(str) | st.text(max_size=40),
        "strategy": st.sampled_from(["random", "sticky_session", "custom", "nope"]),
        "params": st.dictionaries(st.sampled_from(["seed", "ttl_seconds", "patterns", "x"]),
                                  json_values, max_size=3),
        "tags": st.lists(st.text(max_size=50), max_size=25),
        "url": st.sampled_from(["https://example.com/", "javascript:alert(1)", "file:///x",
                                "http://u:p@h/"]) | st.text(max_size=300),
        "tab_id": st.uuids().map(str) | st.text(max_size=40),
        "profile": st.text(max_size=80),
        "proxy": st.sampled_from(["auto", "direct"]) | st.uuids().map(str) | st.text(max_size=9),
        "os": st.lists(st.sampled_from(["windows", "macos", "linux", "amiga"]), max_size=4),
        "seed": st.integers(-5, 2**64),
        "locale": st.text(max_size=10) | st.just("de-DE"),
        "timezone": st.text(max_size=70) | st.just("Europe/Berlin"),
        "mode": st.sampled_from(["proxied", "block", "leaky"]),
        "enabled": json_scalars,
        "name": st.text(max_size=80),
        "domain": st.text(max_size=300) | st.sampled_from(["example.com", "bücher.de",
                                                           "http://x.com", "1.2.3.4"]),
        "keyword": st.text(max_size=250),
        "keywords": st.lists(st.text(max_size=30), max_size=3) | st.none(),
        "cron": st.text(max_size=40) | st.sampled_from(["0 6 * * *", "* * * * * */2",
                                                        "61 * * * *", "@daily"]),
        "engine": st.sampled_from(["bing", "google", "duckduckgo", "yahoo"]),
        "depth": st.integers(-5, 500) | json_scalars,
        "task_id": st.uuids().map(str) | st.text(max_size=40),
        "task_ids": st.lists(st.uuids().map(str) | st.text(max_size=40), max_size=3),
    },
)


def _outcome(model: type[Command], payload: Any) -> None:
    try:
        parse_command(model, payload)
    except ValidationError as exc:
        assert exc.exit_code == 2 and "\n" not in exc.message


@pytest.mark.parametrize("channel", sorted(ALL_COMMANDS))
@settings(max_examples=150, deadline=None)
@given(payload=payloads | plausible)
def test_random_payloads_only_raise_validation_errors(channel: str, payload: Any) -> None:
    _outcome(ALL_COMMANDS[channel], payload)


@pytest.mark.parametrize("channel", sorted(ALL_COMMANDS))
@settings(max_examples=30, deadline=None)
@given(payload=json_values)
def test_non_object_payloads_only_raise_validation_errors(channel: str, payload: Any) -> None:
    _outcome(ALL_COMMANDS[channel], payload)


def test_an_unknown_key_with_a_newline_stays_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_command(ALL_COMMANDS["privacy:get-stats"], {"0\n": None})
    assert caught.value.message == "'0\\n': Extra inputs are not permitted"


@settings(max_examples=300, deadline=None)
@given(line=st.text(max_size=200) | st.from_regex(r"[a-z0-9:/@.\[\]%]{0,60}", fullmatch=True))
def test_proxy_lines_parse_or_raise_value_error(line: str) -> None:
    with contextlib.suppress(ValueError):
        parse_proxy_line(line)
