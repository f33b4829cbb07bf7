"""``vipb serve``: the read-only dashboard over HTTP on one address of this machine.

What stands between the pages and everyone else:
- it listens on 127.0.0.1 unless told one other address, never a wildcard;
- every request needs the token (from the URL printed once, then an HttpOnly, SameSite=Strict
  cookie; or ``Authorization: Bearer``): other local users cannot read the views, as they
  cannot use the control socket;
- the ``Host`` header must name the address served (a page elsewhere that points a name of
  its own at 127.0.0.1, DNS rebinding, gets 421);
- only GET and HEAD; no write of any kind exists;
- the Content-Security-Policy allows nothing from anywhere (not even our own script: there
  is none), no framing, no referrer; kept results pages are served sandboxed (an opaque
  origin: nothing in them can read the dashboard or its cookie).
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import tzinfo
from html import escape
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID
from wsgiref.simple_server import WSGIRequestHandler, make_server

from entrypoints.web.pages import PAGES, page
from projections.sql import Connection
from service.metrics import ThreadingWSGIServer, ThreadingWSGIServer6, metrics_address

log = logging.getLogger(__name__)

COOKIE = "vipb_dashboard"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
EVIDENCE_CSP = f"sandbox; {CSP}"
HEADERS = [("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
           ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"),
           ("Cross-Origin-Resource-Policy", "same-origin"),
           ("Cross-Origin-Opener-Policy", "same-origin")]

Evidence = Callable[[str], str | None]  # task id -> the kept page made safe, or None


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("dashboard: " + format, *args)


def dashboard_app(connect: Callable[[], Connection], token: str, hosts: set[str],
                  zone: tzinfo, evidence: Evidence | None = None) -> Callable[..., Any]:
    """The WSGI app: ``connect`` opens a read-only connection to the views per request,
    ``hosts`` are the ``Host`` values accepted (the served address and port)."""
    expected = token.encode()

    def respond(start_response: Any, status: str, body: str,
                extra: Iterable[tuple[str, str]] = (), csp: str = CSP) -> list[bytes]:
        data = body.encode()
        start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                                ("Content-Length", str(len(data))),
                                ("Content-Security-Policy", csp), *HEADERS, *extra])
        return [data]

    def authorized(environ: dict[str, Any], given: str | None) -> bool:
        bearer = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        candidates = [given, bearer, cookie[COOKIE].value if COOKIE in cookie else None]
        return any(c and hmac.compare_digest(c.encode(), expected) for c in candidates)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if environ.get("HTTP_HOST", "") not in hosts:
            return respond(start_response, "421 Misdirected Request",
                           page("Refused", "<h1>Wrong host</h1><p>Open the address "
                                "<code>vipb serve</code> printed.</p>"))
        if method not in ("GET", "HEAD"):
            return respond(start_response, "405 Method Not Allowed",
                           page("Refused", "<h1>Read only</h1>"), [("Allow", "GET, HEAD")])
        args = dict(parse_qsl(environ.get("QUERY_STRING", ""), max_num_fields=20))
        given = args.pop("token", None)
        if not authorized(environ, given):
            return respond(start_response, "401 Unauthorized",
                           page("Token needed", "<h1>Token needed</h1><p>Open the address "
                                "<code>vipb serve</code> printed (it carries the token), or "
                                "send <code>Authorization: Bearer</code> with the token in "
                                "its token file.</p>"))
        if given is not None:  # from the printed URL: keep it in a cookie, drop it from view
            cookie = (f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
            return respond(start_response, "303 See Other", "", [("Location", path or "/"),
                                                                 ("Set-Cookie", cookie)])
        if path.startswith("/evidence/") and evidence is not None:
            return _evidence(path.removeprefix("/evidence/"))(start_response)
        render = PAGES.get(path)
        if render is None:
            return respond(start_response, "404 Not Found",
                           page("Not found", "<h1>Not found</h1>"))
        try:
            with closing(connect()) as conn:
                title, body = render(conn, args, zone)
        except Exception as exc:  # a view being rebuilt, a store away: say so, keep serving
            log.warning("dashboard page %s failed: %s", path, exc)
            return respond(start_response, "503 Service Unavailable",
                           page("Unavailable", "<h1>The views cannot be read now</h1>"
                                f"<p>{escape(type(exc).__name__)}: {escape(str(exc)[:300])}"
                                "</p>"))
        return respond(start_response, "200 OK", page(title, body))

    def _evidence(ref: str) -> Callable[[Any], list[bytes]]:
        def answer(start_response: Any) -> list[bytes]:
            try:
                task_id = str(UUID(ref))
            except ValueError:
                return respond(start_response, "404 Not Found", page("Not found", ""))
            assert evidence is not None
            html = evidence(task_id)
            if html is None:
                return respond(start_response, "404 Not Found",
                               page("Not kept", "<h1>No kept page for this search</h1>"))
            return respond(start_response, "200 OK", html, csp=EVIDENCE_CSP)
        return answer

    return app


def serve_dashboard(app_for: Callable[[set[str]], Callable[..., Any]], bind: str,
                    port: int) -> tuple[Any, str]:
    """Listen on ``bind``:``port`` (0: any free port); the server (``shutdown()`` stops it)
    and its base URL. ``app_for(hosts)`` makes the app for the ``Host`` values served."""
    address = metrics_address(bind, field="bind")
    server_class = ThreadingWSGIServer6 if ":" in address else ThreadingWSGIServer
    shown = f"[{address}]" if ":" in address else address
    holder: dict[str, Any] = {}

    def late(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    try:
        server = make_server(address, port, late, server_class, handler_class=_Quiet)
    except OSError as exc:
        from domain.errors import ValidationError

        raise ValidationError(f"cannot serve on {address} port {port}: "
                              f"{exc.strerror or exc}", field="port") from None
    bound = server.server_port
    hosts = {f"{shown}:{bound}"}
    if address in ("127.0.0.1", "::1"):
        hosts.add(f"localhost:{bound}")
    holder["app"] = app_for(hosts)
    threading.Thread(target=server.serve_forever, name="vipb-dashboard", daemon=True).start()
    return server, f"http://{shown}:{bound}"
