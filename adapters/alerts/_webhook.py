"""Webhook delivery: the alert as a JSON POST, signed with HMAC-SHA256.

Headers: ``X-Vipb-Delivery`` (the alert's id: the same on every retry, so a receiver that
saw it already can drop it), ``X-Vipb-Timestamp`` (Unix seconds) and ``X-Vipb-Signature:
sha256=<hex>``, the HMAC-SHA256 under the rule's secret of ``<timestamp>.<body>`` (binding
the time stops an old delivery from being replayed later). A 2xx answer delivers; 408, 429
and 5xx, a timeout or a connection failure are retried; any other answer (a redirect
included: a signed body is not re-sent elsewhere) gives up at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import orjson

from adapters.alerts._delivery import DeliveryError, refused
from adapters.egress import EgressGuard, EgressRefused, guarded_request
from adapters.proxycheck._http import DroppedResponse, GarbageResponse

SIGNATURE_HEADER = "X-Vipb-Signature"
RETRIED = frozenset({408, 425, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSender:
    """POSTs alerts to webhook URLs through the egress guard."""

    def __init__(self, guard: EgressGuard, timeout: float = 15.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._guard = guard
        self._timeout = timeout
        self._clock = clock

    def send(self, target: dict[str, Any], alert: dict[str, Any]) -> str:
        """POST ``alert`` to ``target["webhook_url"]`` signed with ``target["secret"]``."""
        body = orjson.dumps(alert)
        stamp = str(int(self._clock()))
        headers = [("User-Agent", "vipb-alerts"), ("Content-Type", "application/json"),
                   ("Accept", "*/*"), ("X-Vipb-Delivery", str(alert["id"])),
                   ("X-Vipb-Timestamp", stamp),
                   (SIGNATURE_HEADER, sign(target["secret"], stamp, body))]
        try:
            response = asyncio.run(guarded_request(
                self._guard, "POST", target["webhook_url"], headers, body,
                timeout=self._timeout, max_body=64 * 1024))
        except EgressRefused as exc:
            raise refused(exc) from None
        except (OSError, TimeoutError, GarbageResponse, DroppedResponse) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc or 'timed out'}") from None
        if 200 <= response.status < 300:
            return f"HTTP {response.status}"
        retried = response.status in RETRIED or response.status >= 500
        raise DeliveryError(f"HTTP {response.status}", permanent=not retried)
