"""The control socket: wire format, server (in the host) and client (in the CLI)."""

from ._client import ControlClient, HostUnavailable, host_running
from ._protocol import MAX_MESSAGE_BYTES, Request, encode, error_reply, parse_request
from ._server import ControlServer, check_socket_path, peer_uid

__all__ = [
    "MAX_MESSAGE_BYTES",
    "ControlClient",
    "ControlServer",
    "HostUnavailable",
    "Request",
    "check_socket_path",
    "encode",
    "error_reply",
    "host_running",
    "parse_request",
    "peer_uid",
]
