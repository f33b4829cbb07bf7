"""Egress policy: which addresses vipb may connect to on its own (SSRF).

The decision is made on the address that is connected to, after resolution, never on the URL
text alone: text checks are bypassed by ``0x7f000001``, ``localhost.``, DNS names that resolve
to private addresses and redirects. ``adapters.egress`` resolves and connects; this module only
says yes or no, and reads hosts the way browsers do (WHATWG URL host parsing for IPv4).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names that mean this machine or a cloud metadata service whatever DNS says.
LOCAL_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data",
                         "metadata.azure.com", "instance-data.ec2.internal"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _ends_in_number(label: str) -> bool:
    if label.isdigit():
        return True
    return label[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in label[2:])


def canonical_host(host: str) -> str:
    """``host`` as a browser connects to it: lower case, no brackets, one trailing dot
    dropped, and IPv4 in any form the URL standard accepts (``0x7f000001``, ``0177.0.0.1``,
    ``127.1``) written as a dotted quad. Raises ``ValueError`` for a host that ends in a
    number but is no IPv4 address (browsers refuse those too)."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        return str(ipaddress.IPv6Address(text.split("%", 1)[0]))
    text = text.removesuffix(".")
    last = text.rsplit(".", 1)[-1]
    if text and _ends_in_number(last):
        try:
            return socket.inet_ntoa(socket.inet_aton(text))
        except OSError:
            raise ValueError(f"{host!r} is not a valid IPv4 address") from None
    return text


def address_of(host: str) -> IPAddress | None:
    """The IP address ``host`` names literally (in any browser-accepted form), else None."""
    try:
        return ipaddress.ip_address(canonical_host(host))
    except ValueError:
        return None


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why vipb must not connect to ``address`` on its own, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"{reason} (inside {address})" if reason else None
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (cloud metadata lives there)"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT,
         "a carrier-grade NAT address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


@dataclass(frozen=True)
class EgressPolicy:
    """Refuse every non-public address, except what the operator allowed: everything
    (``allow_private``: tests and labs) or listed networks, each optionally with one port
    (``10.0.0.0/8``, ``127.0.0.1:8080``)."""

    allow_private: bool = False
    allowed: tuple[tuple[Network, int | None], ...] = field(default=())

    @classmethod
    def from_settings(cls, allow_private: bool, allow: Iterable[str] = ()) -> EgressPolicy:
        """Build from ``allow_private_targets`` and ``egress_allow`` entries."""
        return cls(allow_private=allow_private,
                   allowed=tuple(parse_allow_entry(entry) for entry in allow))

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Why a connection to ``address``:``port`` is refused, or None to allow it."""
        reason = blocked_reason(address)
        if reason is None or self.allow_private:
            return None
        for network, only_port in self.allowed:
            if address in network and only_port in (None, port):
                return None
        return f"{address} is {reason}"

    def refuse_name(self, host: str) -> str | None:
        """Names that are local whatever DNS answers (``localhost.``, ``x.localhost``,
        metadata names), or None."""
        name = canonical_host(host)
        if self.allow_private:
            return None
        if name in LOCAL_NAMES or name.endswith(".localhost") or name.endswith(".internal"):
            return f"{name} is a local or metadata name"
        return None

    def refuse_host(self, host: str, port: int) -> str | None:
        """Why ``host:port`` is refused from its text alone (a local or metadata name, or a
        literal address the policy refuses), or None; a name's addresses are checked where
        it is resolved. Raises ``ValueError`` for a host that is no valid address."""
        reason = self.refuse_name(host)
        if reason is None:
            address = address_of(host)
            if address is not None:
                reason = self.refusal(address, port)
        return reason


def parse_allow_entry(entry: str) -> tuple[Network, int | None]:
    """``CIDR`` or ``ADDRESS:PORT`` (``[v6]:PORT``) as a network and an optional port."""
    text = entry.strip()
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        text = host
        if rest.startswith(":"):
            port = int(rest[1:])
    elif text.count(":") == 1:
        text, port_text = text.split(":")
        port = int(port_text)
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{entry!r}: port must be 1..65535")
    try:
        return ipaddress.ip_network(text, strict=False), port
    except ValueError:
        raise ValueError(f"{entry!r} is not a network or address[:port]") from None
