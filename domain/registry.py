"""Every command a host serves, by channel: the one registry the dispatcher, the rate limiter
and remote callers read."""

from __future__ import annotations

from domain.alert_commands import ALERT_COMMANDS
from domain.commands import PROXY_COMMANDS, Command
from domain.creator_commands import CREATOR_COMMANDS
from domain.host_commands import HOST_COMMANDS
from domain.projection_commands import PROJECTION_COMMANDS
from domain.rank_commands import RANK_COMMANDS
from domain.tab_commands import TAB_COMMANDS

COMMANDS: dict[str, type[Command]] = {**PROXY_COMMANDS, **TAB_COMMANDS, **RANK_COMMANDS,
                                      **CREATOR_COMMANDS, **ALERT_COMMANDS,
                                      **PROJECTION_COMMANDS, **HOST_COMMANDS}


def rate_limits() -> dict[str, int]:
    """Each rate-limited channel's calls allowed per client in a window."""
    return {channel: cls.rate_limit for channel, cls in COMMANDS.items()
            if cls.rate_limit is not None}
