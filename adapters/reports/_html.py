"""The HTML rank report: one self-contained file (styles and charts inline, no script, no
request of any kind: its Content-Security-Policy allows nothing else), readable offline and
safe to mail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any

from domain.keyword_names import search_label
from domain.ranking import summarize, summary_text

from ._charts import chart_svg, series_of, zone_name
from ._sparkline import sparkline

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " \
      "form-action 'none'"
CSS = """body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;
margin:0 auto;padding:1em;max-width:1200px;color:#222}h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.2em;margin:1.6em 0 .4em}h3{font-size:1em;margin:0 0 .3em}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;white-space:nowrap}
td.n{text-align:right}.summary{font-size:1.05em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));
gap:1.2em}.charts svg{width:100%;height:auto}.spark{color:#1f77b4;vertical-align:middle}
.up{color:#2ca02c}.down{color:#d62728}.muted{color:#777}"""


def _where(row: Mapping[str, Any]) -> str:
    return search_label(row["keyword"], row["engine"], row.get("country"), row.get("device"),
                        location=row.get("location"), language=row.get("language"))


def _position(value: int | None) -> str:
    return "not ranked" if value is None else f"#{value}"


def latest_text(value: int | None, revised: bool, original: int | None) -> str:
    """``#3``, or ``#3 (revised, was #5)`` when a re-read of the stored page changed it."""
    text = _position(value)
    if revised:
        text += f" (revised, was {_position(original)})"
    return text


def _latest(row: Mapping[str, Any], links: Mapping[str, str]) -> str:
    """The latest position cell: linked to its results page when kept, marked when
    revised, with the exit when it is not the country asked for."""
    text = escape(_position(row["latest"]))
    href = links.get(row.get("task_id") or "")
    if href:
        text = f'<a href="{escape(href)}" title="the results page it was read from">{text}</a>'
    if row.get("revised"):
        text += (f' <span class="muted" title="a re-read of the stored page revised it">'
                 f"(revised, was {escape(_position(row.get('original')))})</span>")
    exit_country = row.get("exit_country")
    if row.get("country") and exit_country != row.get("country"):
        text += f' <span class="down">(exit {escape(exit_country or "unknown")})</span>'
    return text


def _change(moved: str) -> str:
    """``+5`` (up), ``-3`` (down), ``=``, ``new``, ``entered``, ``lost`` or a muted dash."""
    if not moved:
        return '<span class="muted">-</span>'
    kind = ("up" if moved[0] == "+" or moved == "entered"
            else "down" if moved[0] == "-" or moved == "lost" else "")
    return f'<span class="{kind}">{moved}</span>' if kind else moved


def _features(features: Mapping[str, int]) -> str:
    return ", ".join(f"{escape(k.replace('_', ' '))} {v}" for k, v in features.items()) or "-"


def _at(stamp: str | None, zone: tzinfo) -> str:
    """A stored UTC time on the clock of ``zone``, to the minute (``-``: none)."""
    if not stamp:
        return "-"
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone) \
        .strftime("%Y-%m-%d %H:%M")


def _creators(creators: Sequence[Mapping[str, Any]], zone: tzinfo) -> str:
    """The creator availability table (``automation:list-creators`` rows)."""
    if not creators:
        return "<h2>Creator availability</h2><p class=\"muted\">No creator pages are watched.</p>"
    lines = ["<h2>Creator availability</h2><div class=\"scroll\"><table><tr><th>creator</th>"
             "<th>platform</th>"
             "<th>last check</th><th>result</th><th>last change</th><th>checks</th></tr>"]
    for c in creators:
        if c.get("last_checked_at") is None:
            result = '<span class="muted">not checked yet</span>'
        elif c.get("last_reachable"):
            result = f"reachable, HTTP {escape(str(c.get('last_http_status')))}"
        else:
            result = f'<span class="down">unreachable: {escape(str(c.get("last_reason")))}</span>'
        when, changed = _at(c.get("last_checked_at"), zone), _at(c.get("last_changed_at"), zone)
        lines.append(f"<tr><td>{escape(c['name'])}</td><td>{escape(c['platform'])}</td>"
                     f"<td>{escape(when)}</td><td>{result}</td><td>{escape(changed)}</td>"
                     f"<td class=\"n\">{int(c.get('checks') or 0)}</td></tr>")
    lines.append("</table></div>")
    return "".join(lines)


def html_report(rows: Sequence[Mapping[str, Any]], generated: datetime,
                period: str, creators: Sequence[Mapping[str, Any]] | None = None,
                links: Mapping[str, str] | None = None, zone: tzinfo = UTC) -> str:
    """The report for ``rows`` (``automation:get-report`` rows) and the watched creators;
    ``links``: task id -> the relative address of its kept results page; every time on
    the clock of ``zone``, named once at the top."""
    links = links or {}
    local = generated.astimezone(zone)
    body = [f"<h1>Rank report</h1><p class=\"muted\">{escape(period)}; generated "
            f"{escape(local.strftime('%Y-%m-%d %H:%M %Z'))}; times in "
            f"{escape(zone_name(zone))}</p>", "<h2>Summary</h2>",
            f"<p class=\"summary\">{escape(summary_text(summarize(rows)))}</p>"]
    if rows:
        body.append("<div class=\"scroll\"><table><tr><th>search</th><th>country</th>"
                    "<th>device</th><th>domain</th><th>latest</th><th>change</th>"
                    "<th>trend</th><th>previous</th><th>best</th><th>first ranked</th>"
                    "<th>SERP features</th></tr>")
        for row in rows:
            first = _at(row["first_seen"], zone)
            body.append(
                f"<tr><td>{escape(_where(row))}</td>"
                f"<td>{escape(row.get('country') or '-')}</td>"
                f"<td>{escape(row.get('device') or 'desktop')}</td>"
                f"<td>{escape(row['domain'])}</td>"
                f"<td class=\"n\">{_latest(row, links)}</td>"
                f"<td class=\"n\">{_change(row.get('movement', ''))}</td>"
                f"<td>{sparkline(series_of([row])[row['domain']])}</td>"
                f"<td class=\"n\">{_position(row['previous'])}</td>"
                f"<td class=\"n\">{_position(row['best'])}</td><td>{escape(first)}</td>"
                f"<td>{_features(row['features'])}</td></tr>")
        body.append("</table></div>")
    else:
        body.append("<p>No searches in this period.</p>")
    body.append("<h2>Positions over time</h2><div class=\"charts\">")
    contexts: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        contexts.setdefault(_where(row), []).append(row)
    for where, group in contexts.items():
        body.append(f"<section><h3>{escape(where)}</h3>"
                    f"{chart_svg(None, series_of(group), zone, 640, 320)}</section>")
    body.append("</div>")
    body.append(_creators(creators or [], zone))
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<title>vipb rank report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
