"""Direct connections on vipb's own behalf: the egress guard and the per-tab local proxy."""

from ._guard import EgressGuard, EgressRefused, Resolver
from ._local_proxy import EGRESS_HEADER, LocalProxy, direct, socket_owner, via_proxy

__all__ = ["EGRESS_HEADER", "EgressGuard", "EgressRefused", "LocalProxy", "Resolver", "direct",
           "socket_owner", "via_proxy"]
