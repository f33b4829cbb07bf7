"""Process limits a long-running host needs."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit (systemd's default soft limit is
    1024, its hard limit far higher); returns (before, after). Every tab holds pipes and
    sockets, every control client a descriptor: 1024 runs out first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft >= hard:
        return soft, soft
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-file limit from %d (%s)", soft, exc)
        return soft, soft
    log.info("open-file limit raised from %d to %d", soft, target)
    return soft, target


def open_file_limit() -> int:
    """The current soft limit on open files."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
