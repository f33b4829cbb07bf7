"""Direct connections on vipb's own behalf: the egress guard and the per-tab local proxy."""

from ._guard import EgressGuard, EgressRefused, Resolver
from ._local_proxy import EGRESS_HEADER, LocalProxy, direct, socket_owner, via_proxy
from ._request import guarded_request

__all__ = ["EGRESS_HEADER", "EgressGuard", "EgressRefused", "LocalProxy", "Resolver", "direct",
           "guarded_request", "socket_owner", "via_proxy"]
