"""Connect on vipb's own behalf, only to addresses the egress policy allows.

The guard resolves the name itself, checks every address it got (a name with one private
address among public ones is refused: an attacker who controls DNS picks which one is used),
and connects to a checked address, never to the name, so a second lookup cannot rebind it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl as ssl_module
from typing import Any

from domain.egress import EgressPolicy, address_of
from domain.endpoints import host_port
from domain.errors import BaseError


class EgressRefused(BaseError):
    """A direct connection the egress policy does not allow; ``transient`` when the name
    could not be resolved (it may resolve later), not when the policy refused it."""

    code = "egress_refused"

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Resolver:
    """Name to addresses (the system resolver); tests subclass it with their own answers."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to, in the order to try them."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class EgressGuard:
    """Opens connections to ``host:port`` after checking where they really go."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver | None = None,
                 connect_timeout: float = 30.0) -> None:
        self.policy = policy
        self.resolver = resolver or Resolver()
        self.timeout = connect_timeout

    async def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses to connect to for ``host:port``; raises ``EgressRefused``."""
        target = host_port(host, port)
        try:
            reason = self.policy.refuse_host(host, port)
        except ValueError as exc:
            raise EgressRefused(f"{target}: {exc}") from None
        if reason is not None:
            raise EgressRefused(f"{target}: {reason}")
        literal = address_of(host)  # already checked: connect to it as written
        if literal is not None:
            return [str(literal)]
        try:
            candidates = await asyncio.wait_for(self.resolver.resolve(host, port), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise EgressRefused(f"{target}: cannot resolve ({exc})", transient=True) from None
        refusals = [r for r in (self.policy.refusal(ipaddress.ip_address(a.split("%")[0]),
                                                    port) for a in candidates) if r]
        if refusals or not candidates:
            raise EgressRefused(f"{target}: {refusals[0] if refusals else 'no address'}")
        return candidates

    async def open_connection(self, host: str, port: int,
                              ssl: ssl_module.SSLContext | None = None, **kwargs: Any
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """``asyncio.open_connection`` to a checked address of ``host`` (TLS verifies the
        certificate for ``host`` itself)."""
        last: OSError | None = None
        for address in await self.addresses(host, port):
            try:
                return await asyncio.wait_for(asyncio.open_connection(
                    address, port, ssl=ssl, server_hostname=host if ssl else None, **kwargs),
                    self.timeout)
            except OSError as exc:
                last = exc
        assert last is not None
        raise last
