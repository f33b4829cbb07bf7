"""Proxy health checks: connect through a proxy to a check URL and classify what happens;
ask a proxy for a fresh tunnel when a page load through it failed."""

from adapters.proxycheck._checker import ProxyChecker, ProxyEndpoint
from adapters.proxycheck._http import HttpResponse
from adapters.proxycheck._tunnel import PROBE_TIMEOUT, tunnel_fault

__all__ = ["PROBE_TIMEOUT", "HttpResponse", "ProxyChecker", "ProxyEndpoint", "tunnel_fault"]
