"""The command registry: every command declares its channel, help, a working example, its
rate limit and its reply type in one place, and everything that serves commands reads it."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import pytest

import domain
from domain.commands import Command
from domain.errors import RateLimitError
from domain.registry import COMMANDS, rate_limits
from service.rate_limit import RateLimiter

CHANNEL = re.compile(r"^[a-z]+:[a-z]+(-[a-z]+)*$")


def _declared() -> set[type[Command]]:
    """Every command class any module of the domain defines with a channel of its own."""
    found = set()
    for info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Command) \
                    and "channel" in vars(value):
                found.add(value)
    return found


def test_every_command_is_registered_under_its_own_channel() -> None:
    assert set(COMMANDS.values()) == _declared()
    for channel, cls in COMMANDS.items():
        assert cls.channel == channel and CHANNEL.match(channel), channel


@pytest.mark.parametrize("channel", sorted(COMMANDS))
def test_every_command_has_help_and_an_example_that_is_a_valid_command(channel: str) -> None:
    cls = COMMANDS[channel]
    doc = cls.__doc__ or ""
    summary = " ".join(doc.strip().split("\n\n")[0].split())  # the first paragraph
    assert summary.endswith((".", ":")) and len(summary) > 10, channel
    assert "Example: " in doc, f"{channel}: no example"
    example = json.loads(doc.split("Example: ", 1)[1].splitlines()[0])
    command = cls.model_validate(example)  # the example is a command the host accepts
    assert command.channel == channel
    if cls.model_fields:
        assert example, f"{channel}: the example shows no field"


def test_the_rate_limiter_enforces_each_commands_declared_limit() -> None:
    limits = rate_limits()
    assert limits["automation:start-search"] == 5 and "proxy:update" not in limits
    limiter = RateLimiter(clock=lambda: 0.0)
    for channel, limit in limits.items():
        for _ in range(limit):
            limiter.check(channel, "a")
        with pytest.raises(RateLimitError):
            limiter.check(channel, "a")
    for _ in range(500):  # no declared limit: unlimited
        limiter.check("proxy:update", "a")
