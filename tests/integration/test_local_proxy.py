"""The per-tab local proxy from the attacker's side: another local user, with or without the
tab's credential, and even from a socket bound on 127.0.0.2 at the proxy's own port, gets
nothing through; the owner without the credential gets a 407; the tab gets its tunnel. And
as a proxy that carries bodies whole, framed every way a client frames them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.egress import EgressGuard, LocalProxy, direct
from domain.egress import EgressPolicy
from scripts.fixtures.servers import UPLOAD_DOWNLOAD_BYTE, tcp_server, upload_server

NOBODY = 65534


def _client(port: int, target: str, auth: str, bind: str) -> bytes:
    """CONNECT through the proxy at ``port``; what it answered (b"" if it just closed)."""
    s = socket.socket()
    if bind:
        s.bind((bind, port))  # the proxy's own port, on another loopback address
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    if auth:
        head += f"Proxy-Authorization: Basic {auth}\r\n"
    s.sendall((head + "\r\n").encode())
    data = b""
    try:
        while chunk := s.recv(4096):  # to the end: the proxy closes after any answer
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    s.close()
    return data[:400]


class Loop:
    """An asyncio loop in a thread, like the browser engine's."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def proxy() -> Iterator[tuple[LocalProxy, int, list[str]]]:
    connected: list[str] = []

    async def upstream_server(_reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
        connected.append("upstream reached")
        writer.write(b"hello from upstream\n")
        await writer.drain()
        writer.close()

    loop = Loop()
    with tcp_server(upstream_server) as target:
        lab = EgressGuard(EgressPolicy(allow_private=True))
        local = loop.run(LocalProxy(direct(lab)).start())
        try:
            yield local, target, connected
        finally:
            loop.run(local.close())
            loop.close()


def _auth(local: LocalProxy) -> str:
    return base64.b64encode(f"{local.username}:{local.password}".encode()).decode()


def _as(uid: int, local: LocalProxy, target: int, auth: str, bind: str = "") -> bytes:
    """Run the client as ``uid``: in a forked child that drops to that uid first."""
    if uid == os.getuid():
        return _client(local.port, f"127.0.0.1:{target}", auth, bind)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest, no logging, just the socket and _exit
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(uid)
            os.write(write_end, _client(local.port, f"127.0.0.1:{target}", auth, bind))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the client as another uid failed"
    return answer


def test_the_owner_needs_the_tabs_credential(proxy: tuple[LocalProxy, int, list[str]]) -> None:
    local, target, connected = proxy
    assert _as(os.getuid(), local, target, "").startswith(b"HTTP/1.1 407")
    wrong = base64.b64encode(f"{local.username}:guess".encode()).decode()
    assert _as(os.getuid(), local, target, wrong).startswith(b"HTTP/1.1 407")
    assert connected == []
    tunnel = _as(os.getuid(), local, target, _auth(local))
    assert tunnel.startswith(b"HTTP/1.1 200") and tunnel.endswith(b"hello from upstream\n")
    assert connected == ["upstream reached"]


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another uid (nobody)")
@pytest.mark.parametrize("bind", ["", "127.0.0.2"])
def test_another_user_gets_nothing_even_with_the_credential(
        proxy: tuple[LocalProxy, int, list[str]], bind: str) -> None:
    local, target, connected = proxy
    for auth in ("", _auth(local)):  # without, and with a stolen credential
        assert _as(NOBODY, local, target, auth, bind) == b"", "closed without an answer"
    assert connected == [], "nothing reached the upstream"


def test_a_socket_of_our_own_bound_on_127_0_0_2_is_still_ours(
        proxy: tuple[LocalProxy, int, list[str]]) -> None:
    """The 4-tuple lookup finds the client's own row, not the listener's."""
    local, target, connected = proxy
    reply = _as(os.getuid(), local, target, _auth(local), bind="127.0.0.2")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"hello from upstream\n")
    assert connected == ["upstream reached"]


def test_the_guard_refuses_through_the_proxy(proxy: tuple[LocalProxy, int, list[str]]
                                            ) -> None:
    _local, target, connected = proxy
    local_guarded = LocalProxy(direct(EgressGuard(EgressPolicy())))
    loop = Loop()
    try:
        started = loop.run(local_guarded.start())
        reply = _as(os.getuid(), started, target, _auth(started))
        assert reply.startswith(b"HTTP/1.1 403") and b"X-Vipb-Egress: refused" in reply
        assert started.refused == [f"127.0.0.1:{target}: 127.0.0.1 is a loopback address"]
    finally:
        loop.run(local_guarded.close())
        loop.close()
    assert connected == []


# --- request and response bodies, framed every way a client frames them ------------------
# curl is the client: a real one that sends Content-Length, chunked bodies and
# ``Expect: 100-continue`` (waiting for the interim answer before the body) as told.

@pytest.fixture
def lab_proxy() -> Iterator[LocalProxy]:
    """A local proxy whose egress guard allows loopback (the lab allowance)."""
    loop = Loop()
    local = loop.run(LocalProxy(direct(EgressGuard(EgressPolicy(allow_private=True)))).start())
    try:
        yield local
    finally:
        loop.run(local.close())
        loop.close()


def _curl(local: LocalProxy, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "120", "--proxy", local.server,
         "--proxy-user", f"{local.username}:{local.password}", *args],
        capture_output=True, check=False, timeout=180)


def _upload(local: LocalProxy, url: str, body: Path, *headers: str) -> dict[str, Any]:
    done = _curl(local, "--data-binary", f"@{body}", "-H",
                 "Content-Type: application/octet-stream",
                 *[part for h in headers for part in ("-H", h)], url + "/upload")
    assert done.returncode == 0, done.stderr.decode()
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
@pytest.mark.parametrize(("size", "headers", "chunked", "expect"), [
    (0, ["Expect:"], False, ""),
    (64 * 1024, ["Expect:"], False, ""),
    (20 * 1024 * 1024, ["Expect:"], False, ""),
    (3 * 1024 * 1024 + 5, ["Expect:", "Transfer-Encoding: chunked"], True, ""),
    (3 * 1024 * 1024, ["Expect: 100-continue"], False, "100-continue"),
    (1024 * 1024 + 1, ["Expect: 100-continue", "Transfer-Encoding: chunked"], True,
     "100-continue"),
])
def test_request_bodies_arrive_whole(lab_proxy: LocalProxy, tmp_path: Path, size: int,
                                     headers: list[str], chunked: bool, expect: str) -> None:
    body = tmp_path / "body"
    body.write_bytes(os.urandom(size))
    with upload_server() as url:
        answer = _upload(lab_proxy, url, body, *headers)
    assert answer == {"length": size, "sha256": hashlib.sha256(body.read_bytes()).hexdigest(),
                      "chunked": chunked, "expect": expect}


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_a_large_response_streams_back(lab_proxy: LocalProxy, tmp_path: Path) -> None:
    size = 20 * 1024 * 1024 + 3
    out = tmp_path / "download"
    with upload_server() as url:
        done = _curl(lab_proxy, "-o", str(out), f"{url}/download?bytes={size}")
    assert done.returncode == 0, done.stderr.decode()
    assert out.read_bytes() == bytes([UPLOAD_DOWNLOAD_BYTE]) * size


@pytest.mark.parametrize("head", [
    "Content-Length: 5\r\nTransfer-Encoding: chunked",  # two framings: a smuggling attempt
    "Content-Length: 5\r\nContent-Length: 6",
    "Content-Length: -5",
    "Content-Length: ",
    "Content-Length: \u00b2",  # a digit to str.isdigit, not to HTTP
    "Transfer-Encoding: gzip",
])
def test_a_body_framed_two_ways_is_refused(lab_proxy: LocalProxy, head: str) -> None:
    with upload_server() as url, socket.create_connection(("127.0.0.1", lab_proxy.port)) as s:
        s.settimeout(20)
        s.sendall(f"POST {url}/upload HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic "
                  f"{_auth(lab_proxy)}\r\n{head}\r\n\r\nhello".encode("latin-1"))
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400 Bad Request"), reply
