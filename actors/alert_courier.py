"""The alert courier: turns the alerts view's to-do list into ``AlertTriggered`` events and
delivers them, retrying with jittered backoff.

Exactly once on record: an alert's id is derived from its rule and source event, so raising
it again (after a restart, or when a rebuilt view lists it again) is a version conflict and
is passed over. Never lost: alerts on record that are neither delivered nor given up are
picked up again by the next process that runs the courier, at the time their retry was due.
A webhook receiver may still see an alert twice if a process dies between the receiver's
answer and the record of it: every attempt carries the same delivery id for that reason.

One process per data dir runs the courier (an exclusive lock on ``alerts.lock``): the host,
or a CLI process that records outcomes while no host runs. It starts at the first commit of
an event rules watch in the process (or ``activate``): other commands never send anything,
and other commits cost it nothing.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import heapq
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit
from uuid import UUID

import pykka

from actors.alert_rules import AlertRulesActor
from actors.writer import EventWriter
from adapters.alerts import DeliveryError, Sender
from domain.alert import Alert, RuleKind
from domain.errors import ConcurrencyError, DatabaseError

log = logging.getLogger(__name__)
_RNG = random.Random()
OUTBOX_BATCH = 500  # outbox rows raised per pass
IDLE_WAKE = 60.0  # seconds: also look for other processes' outbox rows this often
# seconds between two looks at the outbox while commits keep coming: a busy host commits
# several watched events per search, and a look settles the views and queries the outbox;
# one look for a burst of them delays an alert by at most this (a drain does not wait)
LOOK_EVERY = 0.25


class Parked(enum.Enum):
    """An attempt that waits for another delivery to the same receiver."""

    PARKED = "parked"


PARKED = Parked.PARKED


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often and how patiently an alert's delivery is retried.

    Hand-written rather than tenacity's waits: each wait is on record (the failure's
    ``retry_in``) and must survive a restart, which an in-call retry loop cannot."""

    attempts: int = 8
    initial: float = 10.0  # seconds before the first retry
    maximum: float = 1800.0  # cap on any single wait

    def delay(self, attempt: int, rng: random.Random | None = None) -> float | None:
        """Seconds before the attempt after ``attempt`` (1-based); None once all are used.
        Doubling from ``initial``, capped, with "equal jitter" (half fixed, half random) so
        many alerts failing together do not retry together."""
        if attempt >= self.attempts:
            return None
        base = min(self.maximum, self.initial * 2.0 ** (attempt - 1))
        jitter = (rng or _RNG).uniform(0, base / 2)
        return base / 2 + jitter


class Exclusive(Protocol):
    """Held by the one process that delivers alerts (of a data dir, or of a cluster)."""

    def try_acquire(self) -> bool:
        """Take it if free; True when this process holds it."""

    def release(self) -> None:
        """Give it up."""


class FileLock:
    """An flock on a file of the data dir (released when the process dies)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it."""
        if self._file is not None:
            return True
        self._path.touch(mode=0o600, exist_ok=True)
        handle = self._path.open("rb")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        """Drop the lock."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AlertCourier:
    """Raises the outbox's alerts and delivers them (see the module docstring)."""

    def __init__(self, writer: EventWriter, rules: pykka.ActorProxy[AlertRulesActor],
                 outbox: Callable[[], list[dict[str, Any]]],
                 undelivered: Callable[[], list[UUID]], senders: dict[str, Sender],
                 policy: DeliveryPolicy, lock: Exclusive,
                 sources: tuple[Callable[[], int], Callable[[int], bool]],
                 clock: Callable[[], float] = time.time, workers: int = 2,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """``sources``: the store head, and whether an event rules watch was committed
        after a position (by any process), so an idle or a draining pass reads the outbox
        only when something new can be in it; ``monotonic``: what spaces the looks
        (``LOOK_EVERY``)."""
        self._writer = writer
        self._sources = sources
        self._seen = -1  # the outbox holds nothing from events up to here (-1: not looked)
        self._rules = rules
        self._outbox = outbox
        self._undelivered = undelivered
        self._senders = senders
        self._policy = policy
        self._lock = lock
        self._clock = clock
        self._monotonic = monotonic
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vipb-alert")
        self._state = threading.Condition()
        self._due: list[tuple[float, str]] = []  # (when, alert id), a heap
        self._inflight: set[str] = set()
        self._receiving: set[str] = set()  # receivers a delivery is talking to now
        self._parked: dict[str, list[str]] = {}  # alerts waiting for such a receiver
        self._wanted = False  # a commit happened: look at the outbox
        self._urgent = False  # ... now (a drain, a start), not after the rest of LOOK_EVERY
        self._looked = -LOOK_EVERY  # when the last look began (time.monotonic)
        self._begun = 0  # outbox passes begun ...
        self._passes = 0  # ... and done (drain waits for one begun after it is called)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.active = False  # this process holds the lock and runs the courier
        self._tries = 0  # times the lock was tried

    # --- lifecycle -------------------------------------------------------------------------------

    def committed(self, _last: int) -> None:
        """Listener of commits holding an event rules watch: look at the outbox (starting
        the courier on the first one)."""
        with self._state:
            if self._stopping:
                return
            self._wanted = True
            if self._thread is None:
                self._start_thread()
            self._state.notify_all()

    def activate(self) -> None:
        """Start now (the host does, to deliver what a previous process left)."""
        with self._state:
            self._wanted = self._urgent = True
            if self._thread is None and not self._stopping:
                self._start_thread()
            self._state.notify_all()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vipb-alerts", daemon=True)
        self._thread.start()

    def _take_lock(self) -> bool:
        return self._lock.try_acquire()

    def _run(self) -> None:
        if not self._wait_for_lock():
            return
        try:
            self._resume()
        except Exception:
            log.exception("could not read the undelivered alerts; they are retried at the "
                          "next start")
        while True:
            with self._state:
                self._state.wait_for(lambda: self._stopping or self._wanted or self._due_now(),
                                     timeout=self._next_wait())
                while self._wanted and not (self._urgent or self._stopping) and \
                        (rest := self._looked + LOOK_EVERY - self._monotonic()) > 0:
                    self._state.wait(rest)  # a burst of commits: one look for them
                if self._stopping:
                    return
                look = self._wanted or not self._due  # a commit, or an idle minute
                self._wanted = False
                if look:
                    self._begun += 1
                    self._urgent = False
                    self._looked = self._monotonic()
            try:
                if look:
                    try:
                        self._raise_outbox()
                    finally:
                        with self._state:
                            self._passes += 1
                            self._state.notify_all()
                self._dispatch_due()
            except Exception:  # e.g. the store closing under a stopping host: next pass
                log.exception("alerts: a courier pass failed")

    def _wait_for_lock(self) -> bool:
        """Take the lock, trying again at each commit (and each minute) while another
        process holds it; False when stopping first."""
        told = False
        while True:
            locked = self._take_lock()
            with self._state:
                self.active = locked
                self._tries += 1
                self._state.notify_all()
                if locked:
                    self._wanted = True  # a first pass at once: what others left behind
                    return True
                if not told:
                    log.info("another vipb process on this data dir delivers alerts")
                    told = True
                self._state.wait_for(lambda: self._stopping or self._wanted, IDLE_WAKE)
                if self._stopping:
                    return False
                self._wanted = False

    def _next_wait(self) -> float:
        if not self._due:
            return IDLE_WAKE
        return max(0.0, min(IDLE_WAKE, self._due[0][0] - self._clock()))

    def _due_now(self) -> bool:
        return bool(self._due) and self._due[0][0] <= self._clock()

    def _resume(self) -> None:
        """Schedule every alert on record that is neither delivered nor given up."""
        for alert_id in self._undelivered():
            alert = self._writer.load(Alert, alert_id)
            if alert is None or alert.settled:
                continue
            due = alert.modified_on.timestamp() + (alert.retry_in or 0.0)
            self._schedule(str(alert_id), due)
            log.info("alert %s: delivery resumed (attempt %d)", alert_id, alert.attempts + 1)

    def _schedule(self, alert_id: str, when: float) -> None:
        with self._state:
            heapq.heappush(self._due, (when, alert_id))
            self._state.notify_all()

    # --- raising ---------------------------------------------------------------------------------

    def _raise_outbox(self) -> None:
        """Record each outbox row as ``AlertTriggered`` and schedule its delivery now
        (unless no event a rule watches was committed since the last complete look)."""
        head_of, fired_after = self._sources
        head = head_of()
        if self._seen >= 0 and not fired_after(self._seen):
            self._seen = head
            return
        try:
            rows = self._outbox()
        except DatabaseError as exc:  # views still catching up (a rebuild): next pass
            log.warning("alerts: %s", exc.message)
            return
        except Exception:
            log.exception("alerts: reading the outbox failed; next pass retries")
            return
        for row in rows:
            alert = Alert(id=UUID(row["id"]), rule_id=row["rule_id"], rule=row["rule"],
                          kind=row["kind"], channel=row["channel"], subject=row["subject"],
                          message=row["message"], source_position=row["source_position"])
            try:
                self._writer.save(alert)
            except ConcurrencyError:
                continue  # on record already (another pass, or before a restart)
            log.info("alert %s raised by rule %s: %s", alert.id, alert.rule, alert.message)
            self._schedule(str(alert.id), self._clock())
        if len(rows) < OUTBOX_BATCH:  # all of it: nothing left from events up to head
            self._seen = head

    # --- delivering ------------------------------------------------------------------------------

    def _dispatch_due(self) -> None:
        now = self._clock()
        with self._state:
            while self._due and self._due[0][0] <= now:
                _, alert_id = heapq.heappop(self._due)
                if alert_id in self._inflight:
                    continue
                self._inflight.add(alert_id)
                self._pool.submit(self._deliver_scheduled, alert_id)

    def _deliver_scheduled(self, alert_id: str) -> None:
        retry_in: float | None = None
        try:
            outcome = self._attempt(alert_id)
        except Exception:
            log.exception("alert %s: delivery crashed; retried at the next start", alert_id)
        else:
            if outcome is PARKED:
                return  # still in flight: the delivery it waits for hands it on
            retry_in = outcome
        with self._state:  # one step: the retry is never skipped as still in flight
            self._inflight.discard(alert_id)
            if retry_in is not None:
                heapq.heappush(self._due, (self._clock() + retry_in, alert_id))
            self._state.notify_all()

    def _attempt(self, alert_id: str) -> float | Parked | None:
        """One delivery attempt of an alert on record, recorded; the seconds before the
        next one (None: none). An alert for a receiver another worker is delivering to now
        waits for it, unrecorded and still in flight (``PARKED``): one slow receiver holds
        one worker, never all of them. That delivery, when it ends, takes it out of flight
        and makes it due in one step: had it left flight when parked, the dispatcher could
        meet it due while still in flight, and drop it until the next start."""
        alert = self._writer.load(Alert, UUID(alert_id))
        if alert is None or alert.settled:
            return None
        target = self._rules.target(alert.rule_id).get(timeout=60)
        receiver = receiver_of(alert.channel, target)
        with self._state:
            if receiver in self._receiving:
                self._parked.setdefault(receiver, []).append(alert_id)
                return PARKED
            self._receiving.add(receiver)
        try:
            retry_in = self._try(alert, target, final=False)
        finally:
            with self._state:  # the alerts that waited for this receiver are due now
                self._receiving.discard(receiver)
                now = self._clock()
                for parked in self._parked.pop(receiver, []):
                    self._inflight.discard(parked)
                    heapq.heappush(self._due, (now, parked))
                self._state.notify_all()
        try:
            self._writer.save(alert)
        except ConcurrencyError:  # recorded by someone else meanwhile: theirs stands
            return None
        return retry_in

    def _try(self, alert: Alert, target: dict[str, Any] | None, final: bool) -> float | None:
        """Deliver ``alert`` to its rule's ``target`` once and apply the outcome to it (not
        saved); the seconds before the next attempt. ``final``: no retry whatever happens."""
        attempt = alert.attempts + 1
        if target is None:
            alert.delivery_failed(attempt=attempt, channel=alert.channel,
                                  error="the rule was removed before delivery", retry_in=None)
            return None
        try:
            detail = self._senders[alert.channel].send(target, payload(alert))
        except DeliveryError as exc:
            retry_in = None if (final or exc.permanent) else self._policy.delay(attempt)
            alert.delivery_failed(attempt=attempt, channel=alert.channel, error=exc.message,
                                  retry_in=retry_in)
            log.warning("alert %s: attempt %d failed (%s)%s", alert.id, attempt, exc.message,
                        f", next in {retry_in:.0f}s" if retry_in is not None else ", given up")
            return retry_in
        alert.delivered_by(attempt=attempt, channel=alert.channel, detail=detail)
        log.info("alert %s delivered (%s)", alert.id, detail)
        return None

    def test(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Raise a test alert on ``rule`` (``AlertRulesActor.described``), try to deliver
        it once in the calling thread, and record both together: a test alert is never on
        record undelivered, so no courier picks it up a second time."""
        alert = Alert(id=uuid.uuid4(), rule_id=rule["id"], rule=rule["name"],
                      kind=RuleKind.TEST.value, channel=rule["channel"],
                      subject={"test": True, "watches": rule["kind"]},
                      message=f"test alert of rule {rule['name']} (it works)",
                      source_position=None)
        self._try(alert, self._rules.target(alert.rule_id).get(timeout=60), final=True)
        self._writer.save(alert)
        return {"id": str(alert.id), "rule": rule["name"], "channel": rule["channel"],
                "target": rule["target"], "delivered": alert.delivered,
                "error": alert.last_error}

    # --- stopping --------------------------------------------------------------------------------

    def drain(self, timeout: float) -> bool:
        """Raise what the outbox holds now and wait for the deliveries due now (not for
        retries later); False if ``timeout`` passed first. A no-op where the courier does
        not run."""
        with self._state:
            if self._thread is None:
                return True
            if not self.active:  # try the lock again: its holder may have gone meanwhile
                tries = self._tries
                self._wanted = True
                self._state.notify_all()
                if not self._state.wait_for(lambda: self._tries > tries, timeout=timeout):
                    return False
                if not self.active:
                    return True
            needed = self._begun + 1  # the next pass begins after every commit before now
            self._wanted = self._urgent = True
            self._state.notify_all()
            return self._state.wait_for(
                lambda: self._passes >= needed and not self._inflight and not self._due_now(),
                timeout=timeout)

    def close(self, timeout: float = 20.0) -> None:
        """Stop: deliveries in flight finish (bounded by the senders' timeouts), later ones
        stay on record for the next process."""
        with self._state:
            self._stopping = True
            self._state.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._lock.release()
        self.active = False


def receiver_of(channel: str, target: dict[str, Any] | None) -> str:
    """Who answers a delivery: a webhook's origin (scheme, host and port), or the mail
    server (every e-mail goes through the one configured)."""
    if channel == "webhook" and target is not None and target.get("webhook_url"):
        parts = urlsplit(str(target["webhook_url"]))
        return f"webhook {parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"
    return channel


def payload(alert: Alert) -> dict[str, Any]:
    """What a receiver gets: the alert's id (the delivery id), rule, kind, sentence, subject
    and time; no secret."""
    return {"id": str(alert.id), "rule": alert.rule, "kind": alert.kind,
            "message": alert.message, "subject": alert.subject,
            "triggered_at": alert.created_on.isoformat(), "attempt": alert.attempts + 1,
            "source_position": alert.source_position}
