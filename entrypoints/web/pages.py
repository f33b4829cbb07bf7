"""The dashboard's pages: server-rendered HTML from the read models, no script, nothing
loaded from anywhere else (charts and sparklines are inline SVG).

Every page is a function of a read-only connection to the views and the request's query
parameters; text from the web (titles, URLs, error texts) is escaped where it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape
from typing import Any
from urllib.parse import urlencode

from adapters.reports import (
    chart_svg,
    latest_text,
    search_label,
    series_of,
    sparkline,
    summary_text,
    zone_name,
)
from domain.ranking import summarize
from projections import rank_queries
from projections.sql import Connection

FILTERS = ("domain", "engine", "country", "device")
PERIOD_DAYS = 30
CSS = """body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;
margin:0 auto;padding:0 1em 2em;max-width:1200px;color:#222}
nav{display:flex;flex-wrap:wrap;gap:1em;padding:.8em 0;border-bottom:1px solid #e3e3e3}
nav a{color:#1f5fa8;text-decoration:none}nav b{margin-right:auto}
h1{font-size:1.4em;margin:.8em 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;white-space:nowrap}
td.n{text-align:right}form{display:flex;flex-wrap:wrap;gap:.5em;align-items:end}
label{display:flex;flex-direction:column;font-size:.85em;color:#555}
.spark{color:#1f77b4;vertical-align:middle}.chart svg{width:100%;height:auto;max-width:900px}
.up{color:#2ca02c}.down{color:#d62728}.muted{color:#777}"""

Render = Callable[[Connection, Mapping[str, str], tzinfo], tuple[str, str]]


def page(title: str, body: str) -> str:
    """A whole page around ``body``."""
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)} - vipb</title><style>{CSS}</style></head><body>"
            "<nav><b>vipb</b><a href=\"/\">Keywords</a><a href=\"/creators\">Creators</a>"
            "<a href=\"/alerts\">Alerts</a><a href=\"/status\">Status</a></nav>"
            f"{body}</body></html>\n")


def _when(stamp: str | None, zone: tzinfo) -> str:
    if not stamp:
        return "-"
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _moved(text: str) -> str:
    kind = "up" if text.startswith("+") or text == "entered" else \
        "down" if text.startswith("-") or text == "lost" else ""
    return f'<span class="{kind}">{escape(text)}</span>' if kind else escape(text)


def _report(conn: Connection, args: Mapping[str, str], **only: str | None
            ) -> list[dict[str, Any]]:
    since = (datetime.now(UTC) - timedelta(days=PERIOD_DAYS)).isoformat()
    picked = {f: args.get(f) or None for f in FILTERS} | only
    return rank_queries.report(conn, picked.get("domain"), picked.get("keyword"),
                               picked.get("engine"), picked.get("device"), since, 5000,
                               picked.get("country"), picked.get("location"))


def _keyword_link(row: Mapping[str, Any]) -> str:
    query = urlencode({k: row[k] for k in ("keyword", "engine", "country", "location",
                                           "device") if row.get(k)})
    return f'<a href="/keyword?{escape(query)}">{escape(row["keyword"])}</a>'


def keywords(conn: Connection, args: Mapping[str, str], zone: tzinfo) -> tuple[str, str]:
    """The keyword table: position, change over the period, sparkline; filters."""
    rows = _report(conn, args)
    options = {f: sorted({str(r[f]) for r in _report(conn, {}) if r.get(f)})
               for f in FILTERS}
    form = "".join(
        f'<label>{f}<select name="{f}"><option value="">all</option>'
        + "".join(f'<option{" selected" if args.get(f) == v else ""}>{escape(v)}</option>'
                  for v in options[f]) + "</select></label>" for f in FILTERS)
    body = [f"<h1>Keywords</h1><p class=\"muted\">the last {PERIOD_DAYS} days; times in "
            f"{escape(zone_name(zone))}</p>",
            f'<form method="get" action="/">{form}<button>Show</button></form>',
            f'<p class="summary">{escape(summary_text(summarize(rows)))}</p>' if rows
            else "<p>No searches in this period.</p>"]
    if rows:
        body.append('<div class="scroll"><table id="keywords"><tr><th>keyword</th>'
                    "<th>engine</th><th>country</th><th>device</th><th>domain</th>"
                    "<th>latest</th><th>change</th><th>trend</th><th>best</th>"
                    "<th>last searched</th></tr>")
        for row in rows:
            body.append(
                f"<tr><td>{_keyword_link(row)}</td><td>{escape(row['engine'])}</td>"
                f"<td>{escape(row.get('country') or '-')}</td>"
                f"<td>{escape(row['device'])}</td><td>{escape(row['domain'])}</td>"
                f"<td class=\"n\">{escape(latest_text(row['latest'], row['revised'], row['original']))}</td>"  # noqa: E501
                f"<td class=\"n\">{_moved(row['movement'])}</td>"
                f"<td>{sparkline(series_of([row])[row['domain']])}</td>"
                f"<td class=\"n\">{escape(latest_text(row['best'], False, None))}</td>"
                f"<td>{escape(_when(row['last_searched'], zone))}</td></tr>")
        body.append("</table></div>")
    return "Keywords", "".join(body)


def keyword(conn: Connection, args: Mapping[str, str], zone: tzinfo) -> tuple[str, str]:
    """One keyword's searches: its chart, each domain's positions, SERP features and the
    kept results page of each latest search."""
    name = args.get("keyword", "")
    rows = _report(conn, args, keyword=name, location=args.get("location") or None)
    if not rows:
        return "Not found", f"<h1>{escape(name)}</h1><p>No searches of it in the last " \
                            f"{PERIOD_DAYS} days.</p>"
    first = rows[0]
    where = search_label(first["keyword"], first["engine"], first.get("country"),
                         first.get("device"), location=first.get("location"),
                         language=first.get("language"))
    body = [f"<h1>{escape(where)}</h1>",
            f'<div class="chart">{chart_svg(None, series_of(rows), zone, 800, 360)}</div>',
            '<div class="scroll"><table><tr><th>domain</th><th>latest</th><th>change</th>'
            "<th>best</th><th>first ranked</th><th>SERP features</th><th>results page</th>"
            "</tr>"]
    for row in rows:
        features = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in row["features"].items())
        page_link = (f'<a href="/evidence/{escape(row["task_id"])}">kept page</a>'
                     if row.get("evidence") else '<span class="muted">none kept</span>')
        body.append(
            f"<tr><td>{escape(row['domain'])}</td>"
            f"<td class=\"n\">{escape(latest_text(row['latest'], row['revised'], row['original']))}</td>"  # noqa: E501
            f"<td class=\"n\">{_moved(row['movement'])}</td>"
            f"<td class=\"n\">{escape(latest_text(row['best'], False, None))}</td>"
            f"<td>{escape(_when(row['first_seen'], zone))}</td>"
            f"<td>{escape(features or '-')}</td><td>{page_link}</td></tr>")
    body.append("</table></div>")
    return where, "".join(body)


def _table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], zone: tzinfo,
           times: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    lines = []
    for row in rows:
        cells = (escape(_when(row.get(c), zone)) if c in times
                 else escape("" if row.get(c) is None else str(row.get(c)))
                 for c in columns)
        lines.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(lines)}</table></div>'


def creators(conn: Connection, args: Mapping[str, str], zone: tzinfo) -> tuple[str, str]:
    """Creator availability: the latest check of each watched page."""
    rows = [dict(r) for r in conn.execute(
        "SELECT name, url, platform, enabled, last_reachable, last_reason, last_http_status, "
        "last_checked_at, last_changed_at, checks FROM creators WHERE removed_at IS NULL "
        "ORDER BY name")]
    for row in rows:
        row["result"] = ("not checked yet" if row["last_checked_at"] is None
                         else f"reachable, HTTP {row['last_http_status']}"
                         if row["last_reachable"] else f"unreachable: {row['last_reason']}")
    body = _table(["name", "url", "platform", "result", "last_checked_at", "last_changed_at",
                   "checks"], rows, zone, times=("last_checked_at", "last_changed_at"))
    return "Creators", f"<h1>Creators</h1>{body if rows else '<p>No creator is watched.</p>'}"


def alerts(conn: Connection, args: Mapping[str, str], zone: tzinfo) -> tuple[str, str]:
    """Alerts history, newest first."""
    rows = [dict(r) for r in conn.execute(
        "SELECT triggered_at, rule, kind, channel, state, attempts, message, delivered_at "
        "FROM alerts ORDER BY triggered_at DESC LIMIT 500")]
    body = _table(["triggered_at", "rule", "kind", "channel", "state", "attempts", "message",
                   "delivered_at"], rows, zone, times=("triggered_at", "delivered_at"))
    return "Alerts", f"<h1>Alerts</h1>{body if rows else '<p>No alert has fired.</p>'}"


def status(conn: Connection, args: Mapping[str, str], zone: tzinfo) -> tuple[str, str]:
    """What the views hold: proxies by status, searches by state, open tabs, schedules."""
    def counts(sql: str) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(sql)]

    proxies = counts("SELECT status, count(*) AS proxies FROM proxies GROUP BY status "
                     "ORDER BY status")
    tasks = counts("SELECT state, count(*) AS searches FROM search_tasks GROUP BY state "
                   "ORDER BY state")
    schedules = counts("SELECT name, cron, timezone, state, next_run_at FROM schedules "
                       "WHERE state != 'removed' ORDER BY name")
    tabs = conn.execute("SELECT count(*) FROM tabs WHERE state = 'open'").fetchone()[0]
    body = ["<h1>Status</h1>", f"<p>{int(tabs)} open tab(s)</p>", "<h2>Proxies</h2>",
            _table(["status", "proxies"], proxies, zone), "<h2>Searches</h2>",
            _table(["state", "searches"], tasks, zone), "<h2>Schedules</h2>",
            _table(["name", "cron", "timezone", "state", "next_run_at"], schedules, zone,
                   times=("next_run_at",))]
    return "Status", "".join(body)


PAGES: dict[str, Render] = {"/": keywords, "/keyword": keyword, "/creators": creators,
                            "/alerts": alerts, "/status": status}
