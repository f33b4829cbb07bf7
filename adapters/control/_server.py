"""The control socket server: a Unix socket in the data dir, mode 0600, JSON lines.

Each connection is served by its own coroutine; commands run in a bounded thread pool (the
dispatcher blocks on actors), so a slow or silent client holds one coroutine, never the
others. Only sockets of this process's own user are served (SO_PEERCRED), on top of the file
mode. A line over ``MAX_MESSAGE_BYTES`` gets an error and the connection is closed; a client
that does not read its replies is cut off after ``write_timeout``.

Descriptors are bounded: at most ``max_connections`` are open at once (a new one closes the
oldest idle connection, or is refused when every connection is busy), a client must send
its first request within ``first_request_timeout`` and later ones within ``idle_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import BaseError, ValidationError

from ._protocol import MAX_MESSAGE_BYTES, encode, error_reply, parse_request

log = logging.getLogger(__name__)
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes on Linux, NUL included

# (channel, payload, client), and ``progress=report`` for a request that asks for it
Handler = Callable[..., dict[str, Any]]
PROGRESS_EVERY = 0.1  # seconds between progress lines of one command (the last always goes)
Stream = Callable[[dict[str, Any]], AsyncIterator[dict[str, Any]]]


def check_socket_path(path: Path) -> None:
    """Refuse a socket path the kernel cannot bind, with the reason."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ValidationError(f"{path} is too long for a Unix socket (at most "
                              f"{MAX_SOCKET_PATH} bytes): use a shorter data dir path",
                              field="data_dir")


def peer_credentials(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end of a Unix socket."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    return int(pid), int(uid)


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket."""
    return peer_credentials(sock)[1]


@dataclass
class _Connection:
    """What the server knows of one open connection."""

    writer: asyncio.StreamWriter
    busy: bool = False  # a command or a stream is running for it

    def close(self) -> None:
        """Release the socket now (also for a task cancelled before it first ran)."""
        self.writer.transport.abort()


class ControlServer:
    """Serves ``handler`` (and streaming channels) on a Unix socket, in its own loop thread."""

    def __init__(self, path: Path, handler: Handler, *,
                 streams: dict[str, Stream] | None = None, workers: int = 8,
                 idle_timeout: float = 600.0, write_timeout: float = 30.0,
                 first_request_timeout: float = 10.0, max_connections: int = 256) -> None:
        self.path = path
        self._handler = handler
        self._streams = streams or {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vipb-control")
        self._idle = idle_timeout
        self._first = first_request_timeout
        self._max_connections = max_connections
        self._write_timeout = write_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vipb-control",
                                        daemon=True)
        self._listener: socket.socket | None = None
        self._acceptor: asyncio.Task[None] | None = None
        self._clients = 0
        self._connections: OrderedDict[asyncio.Task[None], _Connection] = OrderedDict()
        self.dropped = 0  # idle connections closed to make room, and connections refused

    def start(self) -> None:
        """Bind the socket (0600) and serve."""
        check_socket_path(self.path)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        log.info("control socket listening on %s", self.path)

    async def _start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a dead host (the host lock says so)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # created 0600: no window where others could connect
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        listener.listen(128)  # waiting clients queue in the kernel, not in our descriptors
        listener.setblocking(False)
        self._listener = listener
        self._acceptor = asyncio.create_task(self._accept_forever(listener))

    async def _accept_forever(self, listener: socket.socket) -> None:
        """Accept one connection at a time, and only when it fits under the cap.

        asyncio's own server accepts up to a whole backlog per wake-up and closes what it
        evicts an iteration later, so a flood could hold several hundred descriptors more than
        the cap and hit the open-file limit. Here, once a connection over the cap is taken,
        the oldest idle one is closed (its descriptor released) before the next is accepted,
        so at most ``max_connections`` + 1 client sockets are ever open."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError as exc:  # EMFILE/ENFILE from descriptors outside our control
                log.warning("control socket: cannot accept (%s); retrying in 1 s", exc.strerror)
                await asyncio.sleep(1.0)  # back off: the fd table is full
                continue
            self._clients += 1
            await self._make_room()
            if len(self._connections) >= self._max_connections:
                await self._refuse(conn)
                continue
            reader, writer = await asyncio.open_unix_connection(
                sock=conn, limit=MAX_MESSAGE_BYTES + 2)
            connection = _Connection(writer)
            task = asyncio.create_task(self._serve(reader, writer, self._clients, connection))
            self._connections[task] = connection

    async def _make_room(self) -> None:
        """At the cap, close the oldest idle connection and wait until its socket is closed
        (nothing to close when every connection is busy: the newcomer is then refused)."""
        if len(self._connections) < self._max_connections:
            return
        victim = next(((t, c) for t, c in self._connections.items() if not c.busy), None)
        if victim is None:
            return
        task, connection = victim
        self.dropped += 1
        log.warning("control socket: %d connections: closed the oldest idle one",
                    len(self._connections))
        task.cancel()
        await asyncio.wait({task})
        self._connections.pop(task, None)
        connection.close()

    async def _refuse(self, conn: socket.socket) -> None:
        """Tell a connection over the cap that the host is busy, and close it."""
        self.dropped += 1
        log.warning("control socket: %d connections, all busy: refused a new one",
                   len(self._connections))
        with conn, contextlib.suppress(OSError):
            conn.send(encode(error_reply(
                "too many connections to the host, all busy; try again", "host_busy")))

    def stop(self) -> None:
        """Stop accepting, let running commands finish, close connections."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(60)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.cancel()
            await asyncio.gather(self._acceptor, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()
        connections = dict(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        for connection in connections.values():
            connection.close()

    @property
    def open_connections(self) -> int:
        """Connections being served now."""
        return len(self._connections)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     number: int, connection: _Connection) -> None:
        task = asyncio.current_task()
        assert task is not None
        client = f"connection-{number}"
        try:
            sock = writer.get_extra_info("socket")
            pid, uid = peer_credentials(sock) if sock is not None else (0, -1)
            if uid != os.getuid():
                log.warning("control socket refused a client of another user")
                return
            client = f"pid-{pid}"  # rate limits follow the process, not the connection
            await self._converse(reader, writer, client, connection)
        except (ConnectionError, asyncio.CancelledError, TimeoutError):
            pass
        except Exception:
            log.exception("control connection %s failed", client)
        finally:
            self._connections.pop(task, None)
            writer.close()  # sends what is still buffered, then releases the socket
            try:
                await asyncio.wait_for(writer.wait_closed(), self._write_timeout)
            except (Exception, asyncio.CancelledError):
                connection.close()  # a client that does not read: drop the rest

    async def _send(self, writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        writer.write(encode(message))
        await asyncio.wait_for(writer.drain(), self._write_timeout)

    async def _with_progress(self, writer: asyncio.StreamWriter, channel: str,
                             payload: dict[str, Any], client: str) -> dict[str, Any]:
        """Run the command, sending its progress reports as lines while it runs (at most
        one per ``PROGRESS_EVERY``, and the last), then return its reply."""
        loop = asyncio.get_running_loop()
        latest: asyncio.Queue[tuple[int, int]] = asyncio.Queue()

        def report(done: int, total: int) -> None:
            loop.call_soon_threadsafe(latest.put_nowait, (done, total))

        work = loop.run_in_executor(self._pool, lambda: self._handler(
            channel, payload, client, progress=report))
        newest: tuple[int, int] | None = None
        sent: tuple[int, int] | None = None
        last_at = 0.0
        while True:
            getter = asyncio.ensure_future(latest.get())
            waiting: set[asyncio.Future[Any]] = {work, getter}
            held = newest is not None and newest != sent  # a count not sent yet: when due
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED, timeout=max(
                0.0, last_at + PROGRESS_EVERY - loop.time()) if held else None)
            if getter.done():
                newest = getter.result()
            else:
                getter.cancel()
            while not latest.empty():
                newest = latest.get_nowait()  # only the newest count matters
            due = work.done() or loop.time() - last_at >= PROGRESS_EVERY
            if newest is not None and newest != sent and due:
                await self._send(writer, {"progress": {"done": newest[0], "total": newest[1]}})
                sent, last_at = newest, loop.time()
            if work.done():
                reply: dict[str, Any] = await work
                return reply

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        client: str, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        timeout = self._first
        while True:
            connection.busy = False
            try:
                line = await asyncio.wait_for(reader.readuntil(b"\n"), timeout)
            except asyncio.IncompleteReadError:
                return  # the client hung up
            except asyncio.LimitOverrunError:
                await self._send(writer, error_reply(
                    f"message: larger than {MAX_MESSAGE_BYTES} bytes; connection closed"))
                return
            connection.busy, timeout = True, self._idle
            try:
                request = parse_request(line)
            except BaseError as exc:
                await self._send(writer, error_reply(exc.message, exc.code))
                continue
            stream = self._streams.get(request.channel)
            if stream is not None:
                async for item in stream(request.payload):
                    await self._send(writer, item)
                return
            if request.progress:
                reply = await self._with_progress(writer, request.channel, request.payload,
                                                  client)
            else:
                reply = await loop.run_in_executor(self._pool, self._handler,
                                                   request.channel, request.payload, client)
            if request.id is not None:
                reply = {**reply, "id": request.id}
            await self._send(writer, reply)
