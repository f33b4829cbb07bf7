"""Real servers on 127.0.0.1 for tests and benchmarks: an echo check endpoint, pproxy
instances, and deliberately faulty proxies. Every server binds loopback only and is stopped
by its fixture; readiness is awaited on a line or a bound socket, never on a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PPROXY = str(Path(sys.executable).parent / "pproxy")


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _EchoHandler(BaseHTTPRequestHandler):
    """httpbin-style ``/get``: the client address and the request headers as JSON."""

    def do_GET(self) -> None:
        body = json.dumps({"origin": self.client_address[0],
                           "headers": dict(self.headers.items()), "url": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _geo_echo(country: str) -> type[BaseHTTPRequestHandler]:
    """An ipinfo-style check endpoint: the echo, and the exit ``country`` it 'sees'."""
    class Handler(_EchoHandler):
        def do_GET(self) -> None:
            body = json.dumps({"origin": self.client_address[0], "country": country,
                               "headers": dict(self.headers.items())}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return Handler


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server for tests; ``request_queue_size`` is high because
    ``http.server`` stalls under fan-out otherwise."""

    request_queue_size = 1024
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up mid-answer (a browser closing, a timed-out check) is not
        an error here; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class EchoServer(LoopbackServer):
    """The check endpoint."""

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up early (a timed-out check) is not an error here."""


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler],
                server_class: type[LoopbackServer] = LoopbackServer,
                port: int = 0) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (``port``, default random) in a thread; yields the
    base URL."""
    server = server_class(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    """Serve the echo endpoint; yields its URL."""
    with http_server(_EchoHandler, EchoServer) as base:
        yield base + "/get"


@contextlib.contextmanager
def geo_echo_server(country: str) -> Iterator[str]:
    """Serve a check endpoint that names the exit country (as ipinfo.io does); its URL."""
    with http_server(_geo_echo(country), EchoServer) as base:
        yield base + "/json"


class _UploadHandler(BaseHTTPRequestHandler):
    """Reads request bodies as an HTTP/1.1 server must (``Content-Length`` or chunked;
    ``Expect: 100-continue`` answered by the standard library before the body is read) and
    answers what arrived: its length and SHA-256. ``GET /download?bytes=N`` sends N bytes of
    ``UPLOAD_DOWNLOAD_BYTE``; ``GET /`` is an empty page to run scripts in."""

    protocol_version = "HTTP/1.1"

    @property
    def _chunked(self) -> bool:
        return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

    def _read_body(self) -> bytes:
        if self._chunked:
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/download"):
            size = int(self.path.partition("bytes=")[2] or 0)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            piece = bytes([UPLOAD_DOWNLOAD_BYTE]) * 65536
            while size > 0:
                self.wfile.write(piece[:size])
                size -= 65536
        else:
            self._answer(200, b"<!doctype html><title>uploads</title>", "text/html")

    def do_POST(self) -> None:
        body = self._read_body()
        self._answer(200, json.dumps({
            "length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
            "chunked": self._chunked, "expect": self.headers.get("Expect", ""),
        }).encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


UPLOAD_DOWNLOAD_BYTE = 0x5A


@contextlib.contextmanager
def upload_server() -> Iterator[str]:
    """Serve ``_UploadHandler``; yields the base URL."""
    with http_server(_UploadHandler) as base:
        yield base


class LineLog:
    """Lines a server printed, with a wait that wakes on each new line (no polling)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()

    def append(self, line: str) -> None:
        """Add a line and wake waiters."""
        with self._cond:
            self.lines.append(line)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate(lines)`` holds (or the timeout passes)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.lines), timeout)

    def mentions(self, text: str) -> bool:
        """Whether any line so far contains ``text``."""
        with self._cond:
            return any(text in line for line in self.lines)


@dataclass(frozen=True)
class RunningProxy:
    """A proxy server process and how to reach it."""

    protocol: str
    port: int
    username: str | None
    password: str | None
    process: subprocess.Popen[str]
    log: LineLog = field(default_factory=LineLog)  # connection lines (``verbose`` pproxy)


@contextlib.contextmanager
def pproxy(protocol: str, username: str | None = None,
           password: str | None = None, verbose: bool = False,
           listen: str = "127.0.0.1") -> Iterator[RunningProxy]:
    """Run ``pproxy`` on 127.0.0.1 (or ``listen="::1"``; auth re-checked on every request:
    ``--auth 0``).

    ``verbose``: every connection it makes is logged (``... -> host:port``) into ``log``."""
    port = free_port()
    auth = f"#{username}:{password}" if username else ""
    where = f"[{listen}]" if ":" in listen else listen
    process = subprocess.Popen(
        [PPROXY, "-l", f"{protocol}://{where}:{port}{auth}", "--auth", "0",
         *(["-v"] if verbose else [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until pproxy says it is serving
    if "Serving on" not in line:
        process.kill()
        raise RuntimeError(f"pproxy did not start: {line!r}")
    running = RunningProxy(protocol, port, username, password, process)
    if verbose:
        stdout = process.stdout

        def collect() -> None:
            for text in stdout:
                running.log.append(text.strip())

        threading.Thread(target=collect, daemon=True).start()
    try:
        yield running
    finally:
        process.kill()
        process.wait(10)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.contextmanager
def tcp_server(handler: Handler) -> Iterator[int]:
    """An asyncio TCP server on 127.0.0.1 in a thread; yields its port."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    ports: list[int] = []
    stop = asyncio.Event()

    async def main() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        ports.append(server.sockets[0].getsockname()[1])
        started.set()
        async with server:
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("test server did not start")
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        return await reader.readuntil(b"\r\n\r\n")
    return b""


def replying(payload: bytes, close: bool = True) -> Handler:
    """A server that reads one request and answers ``payload`` (then closes)."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(payload)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        if close:
            writer.close()
    return handle


def hanging() -> Handler:
    """Accepts and never answers (until the client gives up)."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # returns when the client closes
        writer.close()
    return handle


def forwarding_echo(add_headers: dict[str, str]) -> Handler:
    """A stand-in forward proxy that answers as the echo endpoint would, having added
    ``add_headers`` to the request it 'forwarded' (for the anonymity classification)."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = await _read_request(reader)
        lines = raw.decode("latin-1").split("\r\n")[1:]
        headers = dict(line.split(": ", 1) for line in lines if ": " in line)
        headers.pop("Proxy-Authorization", None)
        headers.update(add_headers)
        body = json.dumps({"origin": "203.0.113.9", "headers": headers}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()
    return handle


def _wait_listening(process: subprocess.Popen[str], port: int, what: str) -> None:
    """Wait until ``port`` accepts connections or the process exits (bounded)."""
    for _ in range(500):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.01)  # doubles as a short pause and an early-exit check
            raise RuntimeError(f"{what} exited with code {process.returncode}")
    raise RuntimeError(f"{what} did not start listening on {port}")


def have(binary: str) -> bool:
    """True when a Debian-packaged server binary is installed."""
    return any(os.access(Path(d) / binary, os.X_OK) for d in ("/usr/bin", "/usr/sbin"))


@contextlib.contextmanager
def microsocks(username: str, password: str) -> Iterator[RunningProxy]:
    """Debian's microsocks: SOCKS5 with username/password, on 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(
        ["microsocks", "-i", "127.0.0.1", "-p", str(port), "-u", username, "-P", password],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        _wait_listening(process, port, "microsocks")
        yield RunningProxy("socks5", port, username, password, process)
    finally:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def tinyproxy(tmp: Path, username: str, password: str) -> Iterator[RunningProxy]:
    """Debian's tinyproxy: an HTTP proxy with basic auth, on 127.0.0.1, in the foreground."""
    port = free_port()
    conf = tmp / f"tinyproxy-{port}.conf"
    conf.write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 200\nAllow 127.0.0.1\n"
        f"BasicAuth {username} {password}\nLogLevel Critical\nDisableViaHeader No\n"
        "ConnectPort 80\nConnectPort 443\n")
    process = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        _wait_listening(process, port, "tinyproxy")
        yield RunningProxy("http", port, username, password, process)
    finally:
        process.kill()
        process.wait(10)


def serve_echo_forever() -> None:
    """Run the echo endpoint in this process and print its URL (for benchmarks)."""
    server = EchoServer(("127.0.0.1", 0), _EchoHandler)
    print(f"http://127.0.0.1:{server.server_address[1]}/get", flush=True)
    server.serve_forever()


@contextlib.contextmanager
def echo_server_process() -> Iterator[str]:
    """The echo endpoint in a separate process (so it does not share our GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from tests.servers import serve_echo_forever as s; s()"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        yield url
    finally:
        process.kill()
        process.wait(10)


@dataclass
class Delivery:
    """One POST a webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """What a receiver checks: the signature header is the HMAC-SHA256 under ``secret``
        of ``<timestamp>.<body>``, compared in constant time."""
        import hashlib
        import hmac

        stamp = self.headers.get("X-Vipb-Timestamp", "")
        expected = "sha256=" + hmac.new(secret.encode(), f"{stamp}.".encode() + self.body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-Vipb-Signature", ""), expected)


class WebhookReceiver:
    """A webhook endpoint on 127.0.0.1: records every POST, answers with the next status
    of ``statuses`` (the last one repeats). ``wait_for(n)`` wakes on each delivery."""

    def __init__(self, statuses: list[int] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self.statuses = list(statuses or [200])
        self.extra_headers = headers or {}
        self._cond = threading.Condition()
        self.url = ""

    def record(self, delivery: Delivery) -> tuple[int, dict[str, str]]:
        """Keep a delivery; the status to answer."""
        with self._cond:
            self.deliveries.append(delivery)
            self._cond.notify_all()
            status = self.statuses[0] if len(self.statuses) == 1 else self.statuses.pop(0)
        return status, self.extra_headers

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` deliveries arrived (or the timeout passes)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.deliveries) >= count, timeout)


@contextlib.contextmanager
def webhook_receiver(statuses: list[int] | None = None,
                     headers: dict[str, str] | None = None,
                     port: int = 0) -> Iterator[WebhookReceiver]:
    """Serve a ``WebhookReceiver``; its ``url`` is ``http://127.0.0.1:PORT/hook``."""
    receiver = WebhookReceiver(statuses, headers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, extra = receiver.record(Delivery(self.path, dict(self.headers.items()),
                                                     body))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http_server(Handler, port=port) as base:
        receiver.url = base + "/hook"
        yield receiver


# --- a real SMTP server (aiosmtpd) with STARTTLS and AUTH ----------------------------------------

def loopback_tls(folder: Path, name: str = "vipb test CA") -> tuple[Path, ssl.SSLContext]:
    """A CA (written to ``folder/<name>.pem``) and a server context whose certificate it
    signed for 127.0.0.1 (IP SAN)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    ca_path = folder / f"{name.replace(' ', '-')}.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / f"{name.replace(' ', '-')}-server.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return ca_path, context


@dataclass
class MailLog:
    """What an SMTP server saw: messages (with whether TLS and a login were in force) and
    every login attempt."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # user, pass, tls
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, kind: str, item: Any) -> None:
        """Record a message or a login and wake waiters."""
        with self._cond:
            (self.messages if kind == "message" else self.logins).append(item)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` messages arrived (or the timeout passes)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= count, timeout)


@contextlib.contextmanager
def smtp_server(tls: ssl.SSLContext | None, user: str = "vipb",
                password: str = "mail-pass-1234") -> Iterator[tuple[int, MailLog]]:
    """aiosmtpd on 127.0.0.1: with ``tls`` it offers STARTTLS and requires it before AUTH
    and MAIL; without, it offers neither (a server a careful client must refuse)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    log = MailLog()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, secret = data.login.decode(), data.password.decode()
        log.add("login", (login, secret, session.ssl is not None))
        return AuthResult(success=(login, secret) == (user, password))

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            log.add("message", {"content": envelope.content, "to": envelope.rcpt_tos,
                                "from": envelope.mail_from, "tls": session.ssl is not None,
                                "login": session.authenticated})
            return "250 OK"

    port = free_port()
    options: dict[str, Any] = {"authenticator": authenticator, "auth_require_tls": True}
    if tls is not None:
        options.update(tls_context=tls, require_starttls=True, auth_required=True)
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port, log
    finally:
        controller.stop()
