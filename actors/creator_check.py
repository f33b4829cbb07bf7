"""One creator check: load the page in a tab (proxy from the rotation engine, the privacy
profile, the tabs' egress rules), read what it says, close the tab. Nothing else happens on
the page: no click, no scroll, no playback.

Failures are classified like searches' and retried with the same bounded policy (tenacity):
a proxy or network failure, a timeout, an HTTP 429/403 (blocked) or 5xx try again, through
another pick of the rotation engine; a 404/410, a refused address or a missing profile do not.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from actors.cancel import CancelToken
from actors.retries import RetryPolicy
from actors.tab_supervisor import TabSupervisorActor, close_tab, open_prepared
from domain.errors import (
    BaseError,
    EgressRefusedError,
    ProfileNotFoundError,
    ProxyFaultError,
    ProxyNotFoundError,
)
from domain.text_limits import ERROR_CHARS, TITLE_CHARS, URL_CHARS, capped, capped_or_none

log = logging.getLogger(__name__)
_NUMBER = re.compile(r"\d[\d.,]*")
TIMEOUT = 180.0
READ_PAGE = """() => {
  const canonical = document.querySelector('link[rel~="canonical" i][href]');
  const main = document.querySelector('main, article, [role="main"]') || document.body;
  return {canonical: canonical ? canonical.href : null, text: main ? main.innerText : ''};
}"""


@dataclass(frozen=True)
class CheckResult:
    """What one check found (the fields of ``CreatorChecked`` but ``changed``)."""

    reachable: bool
    reason: str | None
    http_status: int | None
    final_url: str | None
    title: str | None
    canonical_url: str | None
    fingerprint: str | None
    latency_ms: float | None
    proxy_id: str | None
    attempts: int

    def fields(self) -> dict[str, Any]:
        """As keyword arguments of ``Creator.record_check``."""
        return dict(self.__dict__)


class CheckFailed(Exception):
    """One attempt failed, with the reason code and what is known of the page."""

    def __init__(self, reason: str, message: str, retryable: bool,
                 seen: dict[str, Any] | None = None) -> None:
        message = capped(message, ERROR_CHARS)
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.seen = seen or {}


def fingerprint(text: str) -> str:
    """A fingerprint of a page's main text (the text itself is not kept). Whitespace and
    the values of numbers do not count: view counters and "3 minutes ago" change on every
    load of a real profile page, while a new post or a changed bio changes the words."""
    words = " ".join(_NUMBER.sub("#", text).split())
    return hashlib.sha256(words.encode()).hexdigest()[:32]


def _load_failure(exc: BaseError) -> CheckFailed:
    message = exc.message
    if isinstance(exc, EgressRefusedError):  # another attempt would be refused the same
        return CheckFailed("refused", message, retryable=False)
    if isinstance(exc, ProxyFaultError):
        return CheckFailed("proxy", message, retryable=True)
    if "Timeout" in message or "ERR_TIMED_OUT" in message or "timed out" in message:
        return CheckFailed("timeout", message, retryable=True)
    return CheckFailed("unreachable", message, retryable=True)


class CreatorCheck:
    """Runs checks through the tab supervisor; called from the dispatcher's threads."""

    def __init__(self, tabs: Callable[[], pykka.ActorProxy[TabSupervisorActor]],
                 policy: RetryPolicy) -> None:
        self._tabs = tabs
        self._policy = policy
        self._stopping = CancelToken()

    def stop(self) -> None:
        """No more retries: a check waiting to retry ends now with its last failure, and a
        page loading now is aborted (the host is stopping)."""
        self._stopping.cancel("host stopping", interrupted=True)

    @property
    def stopping(self) -> bool:
        """True once ``stop`` was called."""
        return self._stopping.is_set

    def _wait(self, seconds: float) -> None:
        self._stopping.sleep(seconds)

    def run(self, url: str, label: str, profile: str, proxy: str, country: str | None,
            first: int = 1, before: Callable[[int], None] | None = None) -> CheckResult:
        """Check ``url``; a failure after the last attempt is a result too (unreachable,
        with its reason). Attempts are numbered from ``first`` (a check another host began
        counts on); ``before`` is told each attempt's number before it starts (what it
        raises, other than ``CheckFailed``, ends the check)."""
        attempts = first - 1
        avoid: list[str] = []

        failures: list[CheckFailed] = []

        def attempt() -> CheckResult:
            nonlocal attempts
            if failures and self._stopping.is_set:
                raise failures[-1]  # stopped while waiting to retry: the last one stands
            attempts += 1
            if before is not None:
                before(attempts)
            try:
                return self._attempt(url, label, profile, proxy, country, attempts, avoid)
            except CheckFailed as exc:
                failures.append(exc)
                raise

        policy = self._policy
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential_jitter(multiplier=policy.initial, max=policy.maximum,
                                         jitter=policy.jitter),
            retry=retry_if_exception(lambda e: isinstance(e, CheckFailed) and e.retryable
                                     and not self._stopping.is_set),
            sleep=self._wait, reraise=True)
        try:
            return retrying(attempt)
        except CheckFailed as exc:
            seen = exc.seen
            return CheckResult(reachable=False, reason=exc.reason, http_status=seen.get("status"),
                               final_url=seen.get("url"), title=seen.get("title"),
                               canonical_url=None, fingerprint=None,
                               latency_ms=seen.get("latency_ms"),
                               proxy_id=seen.get("proxy_id"), attempts=attempts)

    def _attempt(self, url: str, label: str, profile: str, proxy: str, country: str | None,
                 attempt: int, avoid: list[str]) -> CheckResult:
        tabs = self._tabs()
        try:
            tab_id, tab, reason = tabs.prepare(url, profile, proxy, country,
                                               tuple(avoid)).get(timeout=TIMEOUT)
        except BaseError as exc:
            permanent = isinstance(exc, ProfileNotFoundError | ProxyNotFoundError)
            raise CheckFailed("no_tab", exc.message, retryable=not permanent) from None
        try:
            try:
                opened = open_prepared(tabs, tab_id, tab, label, reason, TIMEOUT,
                                       purpose="creator check")
            except BaseException as exc:
                tab_id = ""  # discarded: nothing left to close
                if not isinstance(exc, BaseError):
                    raise
                raise CheckFailed("no_tab", exc.message, retryable=True) from None
            proxy_id = opened.get("proxy_id")
            page_handle = tab.page_handle().get(timeout=TIMEOUT)
            try:
                with self._stopping.aborting(page_handle.abort):
                    seen = tab.navigate(url).get(timeout=TIMEOUT)
            except BaseError as exc:
                if self._stopping.is_set:
                    raise CheckFailed("interrupted", "the host stopped during the load",
                                      retryable=False, seen={"proxy_id": proxy_id}) from None
                failure = _load_failure(exc)
                failure.seen = {"proxy_id": proxy_id}
                if proxy_id and failure.reason in ("proxy", "timeout"):
                    avoid.append(proxy_id)  # the next attempt through another proxy
                raise failure from None
            status = seen.get("status")
            if status is not None and status >= 400:
                blocked = status in (403, 429)
                failure = CheckFailed("blocked" if blocked else "http_error",
                                      f"HTTP {status}", retryable=blocked or status >= 500,
                                      seen=seen)
                if blocked and proxy_id:
                    avoid.append(proxy_id)
                raise failure
            page = tab.evaluate(f"({READ_PAGE})()").get(timeout=TIMEOUT) or {}
            return CheckResult(reachable=True, reason=None, http_status=status,
                               final_url=capped_or_none(seen.get("url"), URL_CHARS),
                               title=capped_or_none(seen.get("title") or None, TITLE_CHARS),
                               canonical_url=capped_or_none(page.get("canonical"), URL_CHARS),
                               fingerprint=fingerprint(str(page.get("text") or "")),
                               latency_ms=seen.get("latency_ms"), proxy_id=proxy_id,
                               attempts=attempt)
        finally:
            if tab_id:
                try:
                    close_tab(tabs, tab_id, "creator check finished", TIMEOUT)
                except Exception:
                    log.warning("creator check: closing tab %s failed", tab_id)
