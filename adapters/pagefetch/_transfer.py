"""Requests performed in the thread that asks for them, and ended at once from any other.

curl_cffi offers two clients, and neither fits a search worker: its synchronous ``Session``
runs ``curl_easy_perform``, which nothing ends from outside but curl's own timeout (a stopped
search would wait out a silent proxy), and its ``AsyncSession`` can be cancelled but drives
every socket event through an asyncio loop's thread: a wake-up, a loop turn and the GIL for
each, on a thread every search shares. On a busy 2-core machine that hop was about a sixth of
an HTTP-tier search's time (``scripts/bench/peer.py --tier http``: 5,850 keywords/min
through the loop, 6,880 in the worker's own thread).

Here a ``ChromeSession`` (curl_cffi's ``Session``: its options, impersonation, cookies and
responses) performs each request on a handle of ours (``_Handle``) with a multi handle of its
own, in the calling thread: ``curl_multi_perform`` and ``curl_multi_poll`` run with the GIL
released, and ``Stop.set`` from any thread wakes the poll (``curl_multi_wakeup``, which
libcurl makes safe to call from another thread) so that the transfer ends at once. A handle
serves one request at a time and is kept for the next (its connections live in its multi
handle), so a session holds as many handles as requests it ran at once.

This leans on curl_cffi's private parts (``_wrapper.lib``, ``Curl._curl`` and its error and
clean-up helpers, the ``Session.curl`` property it performs on): curl_cffi is pinned to 0.17
(pyproject), and ``tests/integration/test_page_fetch.py`` runs each path through here.
"""

from __future__ import annotations

import threading
from typing import Any

from curl_cffi._wrapper import ffi, lib
from curl_cffi.const import CurlECode
from curl_cffi.curl import Curl, CurlError
from curl_cffi.requests import Response, Session

from ._stop import Stop

_DONE = 1  # CURLMSG_DONE: the only message curl_multi_info_read gives
# the longest a poll waits before the loop looks again (curl wakes it sooner for its own
# timers and any socket event; a stop wakes it at once)
POLL_MS = 1000


class StoppedError(CurlError):
    """The request was ended by its ``Stop``."""


class _Handle(Curl):
    """An easy handle that performs on a multi handle of its own, until done or stopped."""

    def __init__(self) -> None:
        super().__init__()
        self._multi: Any = lib.curl_multi_init()
        self.stop: Stop | None = None

    def perform(self, clear_headers: bool = True, clear_resolve: bool = True) -> None:
        """``Curl.perform``, in this thread, ended early by ``self.stop``."""
        if self._curl is None or self._multi is None:
            raise CurlError("Cannot perform request on closed handle.")
        self._ensure_cacert()
        multi, stop = self._multi, self.stop
        result = self._drive(multi, stop)
        try:
            if result is None:
                raise StoppedError("the request was stopped", code=CurlECode.ABORTED_BY_CALLBACK)
            failed = self._get_callback_exception()
            if failed is not None:
                raise failed
            self._check_error(result, "perform")
        finally:
            self.clean_handles_and_buffers(clear_headers, clear_resolve)

    def _drive(self, multi: Any, stop: Stop | None) -> int | None:
        """Run the transfer to its end: curl's result code, or None when stopped."""
        added = lib.curl_multi_add_handle(multi, self._curl)
        if added != 0:
            raise CurlError(f"curl_multi_add_handle failed ({added})",
                            code=CurlECode.FAILED_INIT)
        try:
            if stop is not None and not stop.attach(lambda: lib.curl_multi_wakeup(multi)):
                return None
            running, queued = ffi.new("int *"), ffi.new("int *")
            while True:
                lib.curl_multi_perform(multi, running)
                message = lib.curl_multi_info_read(multi, queued)
                if message != ffi.NULL and message.msg == _DONE:
                    return int(message.data.result)
                if stop is not None and stop.is_set:
                    return None
                if running[0] == 0:  # nothing running and no message: curl gave up on it
                    return int(CurlECode.FAILED_INIT)
                lib.curl_multi_poll(multi, ffi.NULL, 0, POLL_MS, ffi.NULL)
        finally:
            if stop is not None:
                stop.detach()
            lib.curl_multi_remove_handle(multi, self._curl)  # a stopped transfer ends here

    def close(self) -> None:
        """Close the easy handle, then its multi handle."""
        super().close()
        if getattr(self, "_multi", None) is not None:
            lib.curl_multi_cleanup(self._multi)
            self._multi = None


class ChromeSession(Session[Response]):
    """curl_cffi's ``Session`` performing on our handles (see the module docstring): its
    cookies and options are the session's, its connections the handles'."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._handles_lock = threading.Lock()
        self._idle: list[_Handle] = []
        self._handles: list[_Handle] = []
        self._current = threading.local()

    @property
    def curl(self) -> Curl:
        """The handle the calling thread's request performs on (set by ``fetch``)."""
        handle: _Handle | None = getattr(self._current, "handle", None)
        if handle is None:
            raise RuntimeError("ChromeSession requests go through fetch()")
        return handle

    def fetch(self, stop: Stop, url: str, **options: Any) -> Response:
        """``get(url, **options)`` in this thread, ended early by ``stop``."""
        with self._handles_lock:
            if self._closed:
                raise CurlError("the session is closed", code=CurlECode.FAILED_INIT)
            handle = self._idle.pop() if self._idle else None
            if handle is None:
                handle = _Handle()
                self._handles.append(handle)
        handle.stop, self._current.handle = stop, handle
        try:
            return self.get(url, **options)
        finally:
            handle.stop, self._current.handle = None, None
            with self._handles_lock:
                if self._closed:
                    handle.close()
                else:
                    self._idle.append(handle)

    def close(self) -> None:
        """Close the handles not performing now; those that are close when they end."""
        with self._handles_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle, self._handles = self._idle, [], []
            made = getattr(self._local, "curl", None)  # the one Session.__init__ made
        for handle in idle:
            handle.close()
        if made is not None:
            made.close()
