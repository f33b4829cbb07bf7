"""Whose fault a failed page load through a proxy is: the proxy's, maybe the proxy's, or the
site's.

Behind a proxy, every connection Chromium makes goes to the proxy. Chromium names the proxy
when it refuses a connection, fails a tunnel or a SOCKS handshake (``ERR_PROXY_*``,
``ERR_TUNNEL_CONNECTION_FAILED``, ``ERR_SOCKS_CONNECTION_*``): those are the proxy's. A reset,
a closed or empty connection, or a load that times out may be the proxy's (it accepts and
never answers, or resets each connection) or the site's (it resets or stalls inside a tunnel
the proxy opened): the owner asks the proxy for a fresh tunnel to decide (see
``adapters.proxycheck.tunnel_fault``). Anything else (DNS, certificates, HTTP statuses,
aborted loads) is not the proxy's.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Chromium's net errors that name the proxy itself
PROXY_ERRORS = ("ERR_PROXY", "ERR_TUNNEL_CONNECTION_FAILED", "ERR_SOCKS_CONNECTION",
                "ERR_NO_SUPPORTED_PROXIES", "ERR_MANDATORY_PROXY_CONFIGURATION_FAILED")
# the connection failed or went silent: the proxy's or the site's, a fresh tunnel tells
CONNECTION_ERRORS = ("ERR_CONNECTION_RESET", "ERR_CONNECTION_CLOSED", "ERR_CONNECTION_ABORTED",
                     "ERR_CONNECTION_FAILED", "ERR_EMPTY_RESPONSE", "ERR_TIMED_OUT",
                     "ERR_CONNECTION_TIMED_OUT", "ERR_SOCKET_NOT_CONNECTED")
_TIMEOUT = re.compile(r"\bTimeout \d+(\.\d+)?ms exceeded")  # Playwright's own deadline


class RouteFault(StrEnum):
    """What a load's error says about the proxy it went through."""

    PROXY = "proxy"  # Chromium names the proxy
    SUSPECT = "suspect"  # reset, closed or silent: the proxy's unless a fresh tunnel works
    NONE = "none"  # the site's, the network's or ours: never counted against the proxy


def route_fault(message: str) -> RouteFault:
    """Classify a failed load's error text (Chromium's ``net::ERR_...`` or Playwright's
    timeout). Aborted loads (a stop) are never the proxy's."""
    if message.startswith("navigation aborted"):
        return RouteFault.NONE  # our own abort (see ``BrowserTab.abort``)
    if any(code in message for code in PROXY_ERRORS):
        return RouteFault.PROXY
    if any(code in message for code in CONNECTION_ERRORS) or _TIMEOUT.search(message):
        return RouteFault.SUSPECT
    return RouteFault.NONE
