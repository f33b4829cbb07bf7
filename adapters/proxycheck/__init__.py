"""Proxy health checks: connect through a proxy to a check URL and classify what happens."""

from adapters.proxycheck._checker import ProxyChecker, ProxyEndpoint
from adapters.proxycheck._http import HttpResponse

__all__ = ["HttpResponse", "ProxyChecker", "ProxyEndpoint"]
