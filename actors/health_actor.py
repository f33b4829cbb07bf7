"""``HealthCheckActor``: runs proxy checks on its own thread and records their results in the
day's ``HealthJournal`` in a few commits (the pool and proxy actors stay responsive)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from actors.base import VipbActor
from actors.cancel import CancelToken
from actors.writer import EventWriter
from adapters.egress import EgressGuard
from adapters.proxycheck import ProxyChecker, ProxyEndpoint
from domain.errors import AutomationError, CheckTargetError
from domain.health import HealthReport, ProxyStatus, blame_target
from domain.health_journal import HealthJournal
from domain.progress import Progress

OnResult = Callable[[str, HealthReport], None]
SAVE_EVERY = 500  # results per commit while a large validation runs


class HealthCheckActor(VipbActor):
    """Check many proxies concurrently (bounded) and put every result on record."""

    def __init__(self, writer: EventWriter,
                 statuses: Callable[[], dict[str, str]],
                 egress: EgressGuard | None = None, host: str | None = None,
                 closing: CancelToken | None = None) -> None:
        """``host``: this host's id when hosts share the store (its own journals);
        ``closing``: set when the process stops (checks in flight end then, what they
        found so far on record)."""
        super().__init__()
        self._closing = closing or CancelToken()
        self._host = host
        self._writer = writer
        self._egress = egress  # guards the direct probe of the check URL
        self._load_statuses = statuses
        self._status: dict[str, str] | None = None
        self._journal: HealthJournal | None = None

    def _statuses(self) -> dict[str, str]:
        """Statuses as last recorded in the event store, read on first use (this actor is
        their only writer from then on), not at start: a host that never validates never
        reads them."""
        if self._status is None:
            self._status = dict(self._load_statuses())
        return self._status

    def _today(self) -> HealthJournal:
        day = datetime.now(UTC).date().isoformat()
        if self._journal is None or self._journal.day != day:
            loaded = self._writer.load(HealthJournal, HealthJournal.create_id(day, self._host))
            self._journal = loaded or HealthJournal(day=day, host=self._host)
        return self._journal

    def check(
        self,
        endpoints: Sequence[ProxyEndpoint],
        check_url: str,
        samples: int,
        timeout: float,
        concurrency: int,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> tuple[dict[str, HealthReport], int]:
        """Reports by proxy id and the notification id of the last recorded result.

        ``progress(done, total)`` and ``on_result(id, report)`` are called on this actor's
        thread as checks finish.
        """
        checker = ProxyChecker(check_url, samples=samples, timeout=timeout,
                               concurrency=concurrency, egress=self._egress)
        pending = 0
        position = 0
        # Until one proxy gets through, a failure may be the check target's, not the
        # proxy's: results wait here, and are dropped if the target turns out to be at fault.
        held: list[tuple[str, HealthReport]] | None = []

        def keep(proxy_id: str, report: HealthReport) -> None:
            nonlocal pending, position
            statuses = self._statuses()
            old = statuses.get(proxy_id, ProxyStatus.UNKNOWN.value)
            statuses[proxy_id] = self._today().record(proxy_id, report, old)
            pending += 1
            if pending >= SAVE_EVERY:
                position = max(position, self._save())
                pending = 0

        def record(proxy_id: str, report: HealthReport) -> None:
            nonlocal held
            if held is not None and report.ok:
                for item in held:
                    keep(*item)
                held = None
            if held is None:
                keep(proxy_id, report)
            else:
                held.append((proxy_id, report))
            if on_result is not None:
                on_result(proxy_id, report)

        async def run() -> dict[str, HealthReport]:
            task, loop = asyncio.current_task(), asyncio.get_running_loop()
            assert task is not None

            def stop() -> None:  # (from the closing thread)
                loop.call_soon_threadsafe(task.cancel)

            with self._closing.aborting(stop):
                return await checker.check_many(endpoints, progress, record)

        try:
            try:
                reports = asyncio.run(run())
            except asyncio.CancelledError:
                raise AutomationError("proxy checks stopped: the process is stopping (the "
                                      "results so far are on record)") from None
            if held is not None:
                blame = blame_target(checker.direct_problem, reports)
                if blame is not None:
                    raise CheckTargetError(check_url, blame)
                for item in held:
                    keep(*item)
        finally:
            position = max(position, self._save())
        return reports, position

    def _save(self) -> int:
        if self._journal is None:
            return 0
        try:
            ids = self._writer.save(self._journal)
        except BaseException:
            self._journal = None  # reload: its pending events were not stored
            self._status = dict(self._load_statuses())  # and forget what they said
            raise
        return ids[-1] if ids else 0
