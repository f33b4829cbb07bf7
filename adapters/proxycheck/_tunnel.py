"""Ask a proxy for a fresh tunnel to a page's host, to learn whether a failed load was the
proxy's fault (see ``domain.route_fault``).

An HTTP(S) proxy gets ``CONNECT host:port``; a SOCKS proxy gets its handshake and a connect
request. Any answer of the proxy's (a 200, a 403, a 502, a SOCKS "host unreachable") clears it:
it is alive and speaks its protocol, so the failure happened past it. Refusing the connection,
resetting or closing it before answering, answering garbage, or staying silent until the
deadline is the proxy's fault, named in one line.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import ssl

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError, ProxyType
from python_socks.async_.asyncio.v2 import Proxy as SocksProxy

from domain.endpoints import host_port

PROBE_TIMEOUT = 5.0  # seconds a proxy has to answer a fresh tunnel
_HUNG_UP = "the proxy hung up on a new tunnel before answering"


async def tunnel_fault(protocol: str, host: str, port: int, username: str | None,
                       password: str | None, target_host: str, target_port: int,
                       timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why the proxy at ``host:port`` is at fault for a tunnel to ``target_host:target_port``
    (one line, never a credential), or None when it answered."""
    try:
        async with asyncio.timeout(timeout):
            if protocol in ("http", "https"):
                return await _http_connect(protocol == "https", host, port, username, password,
                                           target_host, target_port)
            return await _socks_connect(protocol, host, port, username, password,
                                        target_host, target_port)
    except (TimeoutError, ProxyTimeoutError):
        return f"the proxy did not answer a new tunnel within {timeout:g} s"
    except ConnectionRefusedError:
        return "the proxy refused a new connection"
    except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError, EOFError):
        return _HUNG_UP
    except ProxyConnectionError as exc:
        if exc.errno == errno.ECONNREFUSED:
            return "the proxy refused a new connection"
        return "the proxy could not be reached"
    except ssl.SSLError as exc:
        return f"the proxy's TLS failed ({exc.reason or type(exc).__name__})"
    except OSError as exc:
        return f"the proxy could not be reached ({exc.strerror or type(exc).__name__})"


async def _http_connect(tls: bool, host: str, port: int, username: str | None,
                        password: str | None, target_host: str, target_port: int) -> str | None:
    context = ssl.create_default_context() if tls else None
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        authority = host_port(target_host, target_port)
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            lines.append(f"Proxy-Authorization: Basic {token}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        first = await reader.readline()
    except ValueError:  # a first line past the reader's limit
        first = b"?"
    finally:
        writer.close()
    if not first:
        return _HUNG_UP
    if not first.startswith(b"HTTP/"):
        return "the proxy answered a tunnel request with something that is not HTTP"
    return None


async def _socks_connect(protocol: str, host: str, port: int, username: str | None,
                         password: str | None, target_host: str, target_port: int) -> str | None:
    kind = ProxyType.SOCKS5 if protocol == "socks5" else ProxyType.SOCKS4
    proxy = SocksProxy(kind, host, port, username, password, rdns=True)
    try:
        stream = await proxy.connect(target_host, target_port)
    except ProxyError as exc:
        if exc.error_code is not None:
            return None  # a reply code: the proxy could not reach the target, or refused it
        # no reply code: the handshake broke off, or its answer was malformed
        return f"the proxy's SOCKS handshake failed ({str(exc)[:120]})"
    await stream.close()
    return None
