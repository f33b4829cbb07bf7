"""How a host and port are written: the one formatter for every proxy endpoint and URL
authority, so IPv6 addresses get their brackets everywhere (``[::1]:8080``)."""

from __future__ import annotations


def host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets (``[2001:db8::1]:3128``)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return f"[{bare}]:{port}" if ":" in bare else f"{bare}:{port}"


def endpoint_url(protocol: str, host: str, port: int) -> str:
    """``protocol://host:port`` without credentials (also Chromium's proxy server form)."""
    return f"{protocol}://{host_port(host, port)}"
