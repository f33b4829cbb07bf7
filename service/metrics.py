"""Optional Prometheus metrics of the host, served on 127.0.0.1 only.

A custom collector reads the figures when scraped (nothing is counted on the hot path):
uptime, store head, commits, projection lag per view, proxies by status, open tabs, actors,
queued and running searches; from the read models, the latest position of each tracked
keyword x target domain x engine x country x device (at most ``MAX_POSITION_SERIES`` series)
finished searches and creator checks by outcome.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from domain.errors import ValidationError
from projections import creators, rank_queries
from projections.alerts import alert_states
from projections.sql import Connection

# One series per tracked keyword x target domain x engine x country x device: bounded by what
# the user tracks, and capped here so that a large account cannot swamp the scraper.
MAX_POSITION_SERIES = 2000


class HostCollector(Collector):
    """Collects from a status function (the host's ``status``) and the commit counter."""

    def __init__(self, status: Callable[[], dict[str, Any]],
                 commits: Callable[[], int], started: float) -> None:
        self._status = status
        self._commits = commits
        self._started = started

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One scrape."""
        s = self._status()
        yield GaugeMetricFamily("vipb_up", "1 while the host serves", value=1)
        yield GaugeMetricFamily("vipb_degraded", "1 when an actor has died (see vipb status)",
                                value=int(s.get("health") == "degraded"))
        yield GaugeMetricFamily(
            "vipb_allow_private_targets", "1 when the SSRF guard lets vipb reach loopback, "
            "private and metadata addresses (tests and labs only)",
            value=int(bool(s.get("egress", {}).get("allow_private_targets"))))
        failed = GaugeMetricFamily("vipb_actor_failures", "Actors that died, by actor class",
                                   labels=["actor"])
        counts: dict[str, int] = {}
        for failure in s.get("failures", []):
            counts[failure["actor"]] = counts.get(failure["actor"], 0) + 1
        for actor, count in counts.items():
            failed.add_metric([actor], count)
        yield failed
        yield GaugeMetricFamily("vipb_uptime_seconds", "Seconds since the host started",
                                value=time.time() - self._started)
        yield GaugeMetricFamily("vipb_store_head", "Last notification id in the event store",
                                value=s["store_head"])
        yield CounterMetricFamily("vipb_commit_transactions",
                                  "Group-commit transactions since the host started",
                                  value=self._commits())
        lag = GaugeMetricFamily("vipb_projection_lag", "Events a view is behind the store",
                                labels=["view"])
        for view, behind in s["views"].items():
            lag.add_metric([view], behind)
        yield lag
        proxies = GaugeMetricFamily("vipb_proxies", "Proxies by status", labels=["status"])
        for status, count in s["proxies"].items():
            proxies.add_metric([status], count)
        yield proxies
        yield GaugeMetricFamily("vipb_open_tabs", "Open tabs", value=s["open_tabs"])
        yield GaugeMetricFamily("vipb_actors", "Running actors", value=s["actors"])
        searches = GaugeMetricFamily("vipb_search_tasks", "Search tasks in this host by state",
                                     labels=["state"])
        for state, count in (s["searches"] or {}).items():
            searches.add_metric([state], count)
        yield searches


class RankCollector(Collector):
    """Rank-tracking figures from the read models, as they are when scraped."""

    def __init__(self, read: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One scrape."""
        with self._read() as conn:
            positions, dropped = rank_queries.latest_positions(conn, MAX_POSITION_SERIES)
            outcomes = rank_queries.search_outcomes(conn)
            checked = creators.check_outcomes(conn)
            alerts = alert_states(conn)
        gauge = GaugeMetricFamily(
            "vipb_rank_position", "Latest position of a target domain for a tracked keyword "
            "(absent when the latest search did not rank it)",
            labels=["keyword", "engine", "country", "location", "language", "device",
                    "domain"])
        for row in positions:
            gauge.add_metric([row["keyword"], row["engine"], row["country"], row["location"],
                              row["language"], row["device"], row["domain"]],
                             row["position"])
        yield gauge
        yield GaugeMetricFamily("vipb_rank_position_series_dropped",
                                f"Position series beyond the first {MAX_POSITION_SERIES}",
                                value=dropped)
        searches = CounterMetricFamily("vipb_searches", "Finished searches by outcome",
                                       labels=["outcome"])
        for outcome, count in outcomes.items():
            searches.add_metric([outcome], count)
        yield searches
        checks = CounterMetricFamily("vipb_creator_checks", "Creator checks by outcome "
                                     "(reachable, or why not)", labels=["outcome"])
        for outcome, count in checked.items():
            checks.add_metric([outcome], count)
        yield checks
        raised = GaugeMetricFamily("vipb_alerts", "Alerts raised, by delivery state (pending, "
                                   "retrying, delivered, failed)", labels=["state"])
        for state, count in alerts.items():
            raised.add_metric([state], count)
        yield raised


class _Quiet(WSGIRequestHandler):
    """No access log line per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing."""


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGI server answering each request in its own (daemon) thread."""

    daemon_threads = True


class ThreadingWSGIServer6(ThreadingWSGIServer):
    """The same on IPv6."""

    address_family = socket.AF_INET6


def metrics_token(path: Path) -> str:
    """The bearer token in ``path`` (created, 0600, on first use): only who can read the
    file (the host's user) can scrape, as only they can use the control socket."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def metrics_address(text: str, field: str = "metrics_bind") -> str:
    """The address ``--metrics-bind`` names: an IP address of this machine (127.0.0.1, or
    an interface's own on a private network a Prometheus scrapes from); never a wildcard
    (0.0.0.0, ::), which would serve every network the machine is on."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise ValidationError(f"{text!r} is not an IP address (e.g. 127.0.0.1 or "
                              "10.0.0.5)", field=field) from None
    if address.is_unspecified:
        raise ValidationError(f"{address} would listen on every network: name the one "
                              "address to serve on (e.g. 10.0.0.5)", field=field)
    return str(address)


def serve_metrics(port: int, token: str, *collectors: Collector,
                  bind: str = "127.0.0.1") -> Any:
    """Serve /metrics on ``bind``:``port`` (127.0.0.1 by default) to requests bearing
    ``token``
    (``Authorization: Bearer ...``; Prometheus: ``authorization: {credentials_file: ...}``),
    401 to any other; returns the server (``shutdown()`` to stop)."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    app = make_wsgi_app(registry)
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Bearer realm="vipb"'),
                                                ("Content-Type", "text/plain")])
            return [b"a bearer token is needed: the host's metrics.token file\n"]
        return app(environ, start_response)

    address = metrics_address(bind)
    server_class = ThreadingWSGIServer6 if ":" in address else ThreadingWSGIServer
    try:
        server = make_server(address, port, guarded, server_class, handler_class=_Quiet)
    except OSError as exc:
        raise ValidationError(f"cannot serve metrics on {address} port {port}: "
                              f"{exc.strerror or exc}", field="metrics_bind") from None
    threading.Thread(target=server.serve_forever, name="vipb-metrics", daemon=True).start()
    return server
