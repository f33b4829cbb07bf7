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

from adapters.alerts._delivery import ATTEMPT_DEADLINE, DeliveryError, refused
from adapters.egress import EgressGuard, EgressRefused, guarded_request
from adapters.proxycheck._http import DroppedResponse, GarbageResponse

SIGNATURE_HEADER = "X-Vipb-Signature"
RETRIED = frozenset({408, 425, 429})
MAX_ANSWER = 64 * 1024  # bytes of a receiver's answer read; more fails the attempt


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSender:
    """POSTs alerts to webhook URLs through the egress guard."""

    def __init__(self, guard: EgressGuard, clock: Callable[[], float] = time.time,
                 deadline: float = ATTEMPT_DEADLINE) -> None:
        """``deadline``: seconds the whole attempt may take (a receiver that trickles its
        answer holds a delivery worker no longer than this)."""
        self._guard = guard
        self._deadline = deadline
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
                timeout=self._deadline, max_body=MAX_ANSWER, deadline=self._deadline))
        except EgressRefused as exc:
            raise refused(exc) from None
        except TimeoutError:
            raise DeliveryError(f"no complete answer within {self._deadline:g} s") from None
        except (OSError, GarbageResponse, DroppedResponse) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc or 'failed'}") from None
        if 200 <= response.status < 300:
            return f"HTTP {response.status}"
        retried = response.status in RETRIED or response.status >= 500
        raise DeliveryError(f"HTTP {response.status}", permanent=not retried)
