"""Put the guard in front of every worker script of every tab, from the browser itself.

Chromium fetches a dedicated worker's script before the worker runs (so injecting over CDP
would race Playwright resuming it); the fetch is a request of type "Other", and names the
target it is made for: the page for the page's own workers, otherwise a worker or iframe
target (a worker's worker, a worker of an iframe). One browser-wide session intercepts those
requests (one interceptor for all tabs: a second, per page, cost every navigation), finds
the tab by the target's browser context, and has the script response come back with the
tab's guard in front. The page presents the tab's identity already; a worker or iframe
target does not yet at that stage, so its request goes out with the tab's user agent,
languages and client hints. Only script responses change (the rest of "Other" is favicons,
which go on at once, and the like; a script prefetched with <link rel=prefetch> gets the
guard too, which is harmless: a guarded realm is never patched twice). Requests of any other
target or context continue untouched.

Service and shared workers belong to no page, so no tab's session reaches them (Playwright
attaches to service workers, not to shared ones): their script gets the guard here like any
worker's, and every request they make, of the kinds a worker can make (scripts, fetch, XHR,
event streams), leaves here with the tab's identity, and a shared worker's requests pass the
tab's tracker blocking here (Playwright's routing never sees them).
(Target discovery is not used: it sends an event to this process for every change of every
page, which costs every tab's navigations.)
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# targets that do not present their tab's identity when their worker's script is fetched
UNREACHED_TARGETS = frozenset({"worker", "iframe", "service_worker", "shared_worker"})
# targets no tab's session reaches at all: every request of theirs needs the identity
PAGELESS_TARGETS = frozenset({"service_worker", "shared_worker"})
# the requests a worker can make (the browser pauses these for every target; the others'
# requests continue at once)
WORKER_REQUESTS = ("Other", "Script", "XHR", "Fetch", "EventSource")
_TARGET_CACHE = 4096  # targets remembered (their context and kind never change)


@dataclass(frozen=True)
class TabIdentity:
    """What one tab's requests and worker scripts carry."""

    script: str  # the guard, put in front of worker scripts
    headers: dict[str, str]  # header name (any case) -> value, set on every request
    hints: dict[str, str]  # client hints, set on requests to secure origins only
    # the tab's tracker blocking for requests its routing never sees: (url, the worker's
    # url, resource type) -> whether to refuse it (and count it)
    blocks: Callable[[str, str, str], bool] | None = None

    def for_url(self, url: str) -> dict[str, str]:
        """The headers a request to ``url`` carries (client hints only where Chromium sends
        them: potentially trustworthy origins)."""
        return {**self.headers, **self.hints} if trustworthy(url) else self.headers


def trustworthy(url: str) -> bool:
    """Whether ``url``'s origin is potentially trustworthy (https, or a loopback host)."""
    parts = urlsplit(url)
    if parts.scheme in ("https", "wss"):
        return True
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_script(headers: list[dict[str, str]]) -> bool:
    """Whether a response's Content-Type is JavaScript."""
    kind = next((h["value"] for h in headers if h["name"].lower() == "content-type"), "")
    return "javascript" in kind.lower() or "ecmascript" in kind.lower()


async def prefix_response(session: Any, event: dict[str, Any], prefix: str) -> bool:
    """Fulfil a paused script response with ``prefix`` in front of its body (True), or leave
    it for the caller to continue (False: not a successful script response)."""
    status = int(event.get("responseStatusCode") or 0)
    if not (200 <= status < 300 and is_script(event.get("responseHeaders", []))):
        return False
    request_id = event["requestId"]
    body = await session.send("Fetch.getResponseBody", {"requestId": request_id})
    raw = base64.b64decode(body["body"]) if body.get("base64Encoded") else body["body"].encode()
    headers = [h for h in event.get("responseHeaders", [])
               if h["name"].lower() not in ("content-length", "content-encoding")]
    await session.send("Fetch.fulfillRequest", {
        "requestId": request_id, "responseCode": status, "responseHeaders": headers,
        "body": base64.b64encode(prefix.encode() + raw).decode()})
    return True


def images_only(headers: dict[str, str]) -> bool:
    """Whether a request accepts images first (a favicon; a worker script accepts */*)."""
    accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
    return accept.lower().startswith("image/")


def with_headers(headers: dict[str, str], extra: dict[str, str]) -> list[dict[str, str]]:
    """``headers`` with every header of ``extra`` set (names compared without case)."""
    names = {name.lower() for name in extra}
    kept = [{"name": k, "value": v} for k, v in headers.items() if k.lower() not in names]
    return kept + [{"name": k, "value": v} for k, v in extra.items()]


@dataclass(frozen=True)
class _Owner:
    """The tab a paused request is for, and the kind of target that made it ("page", or a
    target type such as "worker" or "shared_worker"), with that target's URL."""

    identity: TabIdentity
    kind: str
    url: str = ""

    @property
    def unreached(self) -> bool:
        """Whether a script fetched for this target lacks the tab's identity."""
        return self.kind in UNREACHED_TARGETS

    @property
    def pageless(self) -> bool:
        """Whether every request of this target lacks it (no tab's session reaches it)."""
        return self.kind in PAGELESS_TARGETS


class RealmGuard:
    """The browser-wide interception that guards every tab's worker scripts."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._tabs: dict[str, TabIdentity] = {}  # browser context id -> identity
        self._pages: dict[str, str] = {}  # a tab's page target id -> its context id
        # other targets: id -> (context id, type, url)
        self._targets: dict[str, tuple[str, str, str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, browser: Any) -> RealmGuard:
        """Open the browser's session and intercept from now on."""
        guard = cls(await browser.new_browser_cdp_session())
        session = guard._session
        session.on("Fetch.requestPaused", guard._paused)
        # Requests only: the response of a request found to be a tab's is asked for as it
        # goes on (interceptResponse), so every other request pauses once, not twice.
        await session.send("Fetch.enable", {"handleAuthRequests": False, "patterns": [
            {"urlPattern": "*", "resourceType": kind, "requestStage": "Request"}
            for kind in WORKER_REQUESTS]})
        return guard

    def register(self, context_id: str, page_id: str, identity: TabIdentity) -> None:
        """Worker scripts of ``context_id``'s realms get ``identity``'s guard from now on;
        its page is target ``page_id``."""
        self._tabs[context_id] = identity
        self._pages[page_id] = context_id

    def forget(self, context_id: str) -> None:
        """The tab closed."""
        self._tabs.pop(context_id, None)
        for page_id in [p for p, c in self._pages.items() if c == context_id]:
            del self._pages[page_id]

    def _paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._serve(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _owner(self, target_id: str) -> _Owner | None:
        """The tab whose realm made a request for target ``target_id``: its page's own
        requests name the page; a worker's script fetched for an iframe or another worker
        names a worker or iframe target of the tab's context, and a service or shared
        worker's requests name that worker."""
        context = self._pages.get(target_id)
        if context is not None:
            identity = self._tabs.get(context)
            return None if identity is None else _Owner(identity, "page")
        if not target_id:
            return None
        if target_id not in self._targets:
            if len(self._targets) >= _TARGET_CACHE:
                self._targets.clear()
            try:
                reply = await self._session.send("Target.getTargetInfo",
                                                  {"targetId": target_id})
                info = reply.get("targetInfo", {})
                self._targets[target_id] = (info.get("browserContextId", ""),
                                            info.get("type", ""), info.get("url", ""))
            except Exception:  # no target of that id (any more): nothing of a tab's to guard
                return None
        context, kind, url = self._targets[target_id]
        identity = self._tabs.get(context)
        if identity is None or kind not in UNREACHED_TARGETS:
            return None
        return _Owner(identity, kind, url)

    async def _serve(self, event: dict[str, Any]) -> None:
        request_id, session = event["requestId"], self._session
        response = "responseStatusCode" in event or "responseErrorReason" in event
        request = event["request"]
        try:
            owner = await self._owner(event.get("frameId", ""))
            script_fetch = event.get("resourceType") == "Other"
            if owner is not None and owner.kind == "page" and not response and \
                    (not script_fetch or images_only(request.get("headers", {}))):
                owner = None  # the page's own requests, and its favicon: nothing to change
            if owner is not None and not owner.pageless and not script_fetch:
                owner = None  # a worker or frame a tab's session reaches: it has the identity
            if owner is None:
                method = "Fetch.continueResponse" if response else "Fetch.continueRequest"
                await session.send(method, {"requestId": request_id})
            elif response:
                if not await prefix_response(session, event, owner.identity.script):
                    await session.send("Fetch.continueResponse", {"requestId": request_id})
            elif owner.kind == "shared_worker" and owner.identity.blocks is not None and \
                    owner.identity.blocks(request["url"], owner.url,
                                          str(event.get("resourceType", "other")).lower()):
                await session.send("Fetch.failRequest", {"requestId": request_id,
                                                         "errorReason": "BlockedByClient"})
            else:
                params: dict[str, Any] = {"requestId": request_id,
                                          "interceptResponse": script_fetch}
                if owner.unreached:
                    params["headers"] = with_headers(request.get("headers", {}),
                                                     owner.identity.for_url(request["url"]))
                await session.send("Fetch.continueRequest", params)
        except Exception as exc:  # the target closed, or the request was cancelled
            log.debug("browser-wide interception of %s: %s", request.get("url", "?")[:80], exc)

    def stop(self) -> None:
        """Cancel answers still in flight (the browser is closing)."""
        for task in list(self._tasks):
            task.cancel()
