"""A schedule run's digest as e-mail: a plain-text part and an HTML part with one sparkline
per keyword x domain row.

The HTML sparklines are the report's (``adapters.reports.sparkline``) drawn to PNG and
attached as inline images (``cid:``): webmail such as Gmail shows no SVG in a message, and a
remote image would tell the sender's server when the message was read. Rows with the same
recent positions share one image. Styles are inline (mail clients drop style sheets). Every
text from the web or the user (keywords, domains, locations) is escaped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from html import escape
from typing import Any

from adapters.reports import sparkline
from domain.keyword_names import search_label

MAIL_ROWS = 100  # rows an e-mail shows (the webhook's JSON carries the digest's rows)
_COLOR = "#1d4ed8"  # the sparklines' line, as the report draws them (currentColor there)
_BARS = "▁▂▃▄▅▆▇█"
_UP, _DOWN = "#047857", "#b91c1c"


def text_sparkline(points: Sequence[Sequence[Any]]) -> str:
    """``▆▇██`` for recent positions (high is better: #1 is a full bar), ``·`` where the
    domain did not rank."""
    ranked = [int(p) for _, p in points if p is not None]
    bottom = max(10, *ranked) if ranked else 10
    return "".join("·" if p is None else
                   _BARS[round((bottom - int(p)) / (bottom - 1) * (len(_BARS) - 1))]
                   for _, p in points)


def _position(value: int | None) -> str:
    return f"#{value}" if value is not None else "not ranked"


def _when(iso: str) -> str:
    try:
        at = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return iso
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _label(row: dict[str, Any]) -> str:
    return search_label(str(row["keyword"]), str(row["engine"]), row.get("country"),
                        row.get("device"), location=row.get("location"))


def _points(row: dict[str, Any]) -> list[tuple[datetime, int | None]]:
    return [(datetime.fromtimestamp(int(at), UTC), None if p is None else int(p))
            for at, p in row.get("recent") or []]


def digest_text(alert: dict[str, Any]) -> str:
    """The plain-text part: the summary, then one line per row."""
    subject = alert["subject"]
    rows = subject["rows"][:MAIL_ROWS]
    lines = [alert["message"], "",
             f"schedule {subject['schedule']}, run of {_when(subject['scheduled_for'])}: "
             f"{subject['searches']} search(es), {subject['failed']} failed, "
             f"{subject['cancelled']} cancelled", ""]
    cells = [(_label(r), str(r["domain"]), _position(r["latest"]), r["movement"] or "-",
              text_sparkline(r.get("recent") or [])) for r in rows]
    widths = [max((len(c[i]) for c in cells), default=0) for i in range(4)]
    for cell in cells:
        padded = (f"{text:<{width}}" for text, width in zip(cell[:4], widths, strict=True))
        lines.append("  ".join(padded) + f"  {cell[4]}")
    lines.extend(_left_out(subject))
    for failed in subject.get("failed_searches") or []:
        lines.append(f"failed: {failed}")
    lines += ["", f"rule: {alert['rule']} (digest); alert {alert['id']}"]
    return "\n".join(lines) + "\n"


def _left_out(subject: dict[str, Any]) -> list[str]:
    hidden = int(subject.get("rows_left_out") or 0) + max(0, len(subject["rows"]) - MAIL_ROWS)
    return [f"... and {hidden} more row(s) without larger moves: vipb rank report"] \
        if hidden else []


def _png(svg: str) -> bytes:
    import cairosvg  # the system's cairo (Debian's libcairo2), as rank charts use

    png: bytes = cairosvg.svg2png(bytestring=svg.replace("currentColor", _COLOR).encode(),
                                  scale=2)
    return png


def _change_cell(movement: str) -> str:
    color = _UP if movement.startswith("+") or movement == "entered" else \
        _DOWN if movement.startswith("-") or movement == "lost" else "#374151"
    return (f'<td style="padding:4px 8px;border-top:1px solid #e5e7eb;color:{color};'
            f'font-weight:600">'
            f"{escape(movement or '-')}</td>")


def digest_html(alert: dict[str, Any]) -> tuple[str, dict[str, bytes]]:
    """The HTML part and its inline images (content id -> PNG)."""
    subject = alert["subject"]
    images: dict[str, bytes] = {}
    cell = 'style="padding:4px 8px;border-top:1px solid #e5e7eb"'
    body = []
    for row in subject["rows"][:MAIL_ROWS]:
        points = _points(row)
        svg = sparkline(points) if points else ""
        image = ""
        if svg:
            cid = hashlib.sha256(svg.encode()).hexdigest()[:24] + "@vipb.invalid"
            images.setdefault(cid, _png(svg))
            image = (f'<img src="cid:{cid}" width="96" height="24" '
                     f'alt="{escape(text_sparkline(row.get("recent") or []))}">')
        body.append(
            f"<tr><td {cell}>{escape(_label(row))}</td><td {cell}>{escape(row['domain'])}</td>"
            f"<td {cell}>{escape(_position(row['latest']))}</td>"
            f"{_change_cell(str(row['movement'] or ''))}<td {cell}>{image}</td></tr>")
    extra = "".join(f"<p>{escape(line)}</p>" for line in _left_out(subject))
    failed = "".join(f"<li>{escape(s)}</li>" for s in subject.get("failed_searches") or [])
    head = "".join(f'<th style="text-align:left;padding:4px 8px">{h}</th>'
                   for h in ("search", "domain", "position", "change", "recent"))
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;'
        'color:#111827;font-size:14px">'
        f'<h2 style="font-size:18px">{escape(str(subject["schedule"]))}: run of '
        f"{escape(_when(subject['scheduled_for']))}</h2>"
        f"<p>{escape(alert['message'].removeprefix(str(subject['schedule']) + ': '))}</p>"
        f"<p>{int(subject['searches'])} search(es), {int(subject['failed'])} failed, "
        f"{int(subject['cancelled'])} cancelled.</p>"
        '<table style="border-collapse:collapse" role="presentation">'
        f"<tr>{head}</tr>{''.join(body)}</table>{extra}"
        + (f"<p>Failed searches:</p><ul>{failed}</ul>" if failed else "")
        + f'<p style="color:#6b7280;font-size:12px">rule {escape(alert["rule"])} (digest); '
        f"alert {escape(alert['id'])}</p></body></html>")
    return page, images


def add_digest(message: EmailMessage, alert: dict[str, Any]) -> None:
    """Give ``message`` the digest's text and HTML parts (images inline)."""
    message.set_content(digest_text(alert))
    page, images = digest_html(alert)
    message.add_alternative(page, subtype="html")
    parts = message.get_payload()
    assert isinstance(parts, list)  # add_alternative made the message multipart
    html_part = parts[-1]
    assert isinstance(html_part, EmailMessage)
    for cid, png in images.items():
        html_part.add_related(png, "image", "png", cid=f"<{cid}>")
