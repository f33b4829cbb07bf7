"""Rank tracking rules: which result URLs belong to a target domain, and at what position.

Pure functions; the SERP parsers (adapters) produce the ordered organic result URLs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from domain import rules

MAX_DEPTH = 100  # results scanned per search; engines stop serving sensible pages soon after


def normalize_domain(value: str) -> str:
    """``"WWW.Example.com."`` -> ``"example.com"`` (IDNA for non-ASCII); raises ValueError.

    ``www.`` is dropped: a target domain stands for the site, with or without it."""
    text = value.strip().lower().rstrip(".")
    if "://" in text:
        raise ValueError("must be a domain such as example.com, not a URL")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("is not a valid domain name") from None
    host = rules.check_host(text)
    if ":" in host or host.replace(".", "").isdigit():
        raise ValueError("must be a domain name, not an IP address")
    if "." not in host:
        raise ValueError("must have at least two labels (example.com)")
    return host.removeprefix("www.")


def host_matches(host: str, domain: str, include_subdomains: bool) -> bool:
    """Does a result on ``host`` count for ``domain``? (``www.`` always counts.)"""
    host = host.lower().rstrip(".")
    if host in (domain, "www." + domain):
        return True
    return include_subdomains and host.endswith("." + domain)


@dataclass(frozen=True)
class Ranking:
    """Where one target domain was found (or not) among ``scanned`` organic results."""

    domain: str
    position: int | None  # 1-based; None: not among the results scanned
    url: str | None
    scanned: int


def rank(results: list[str], domains: dict[str, bool]) -> list[Ranking]:
    """The first (best) position of each domain in the ordered ``results``.

    ``domains`` maps a normalised domain to ``include_subdomains``."""
    found: dict[str, tuple[int | None, str | None]] = {}
    for position, url in enumerate(results, start=1):
        host = urlsplit(url).hostname or ""
        for domain, subdomains in domains.items():
            if domain not in found and host_matches(host, domain, subdomains):
                found[domain] = (position, url)
    rankings = []
    for domain in domains:
        best, best_url = found.get(domain, (None, None))
        rankings.append(Ranking(domain, best, best_url, len(results)))
    return rankings


def movement(position: int | None, previous: int | None, had_previous: bool) -> str:
    """How a domain moved since the search before, in words a rank tracker uses: ``+5``
    (five places up), ``-3``, ``=``, ``new`` (its first search), ``entered`` (ranked now,
    not the time before), ``lost`` (ranked the time before, not now), or ``""`` (ranked
    neither time)."""
    if not had_previous:
        return "new" if position is not None else ""
    if position is None:
        return "lost" if previous is not None else ""
    if previous is None:
        return "entered"
    change = previous - position
    return f"{change:+d}" if change else "="


TOP_SHARES = (3, 10, 100)  # "share in top N" of a movement summary


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The movement summary of report rows (each with ``latest`` and ``movement`` since
    the period's start): how many keyword x domain pairs improved, declined, stayed,
    entered the results, were lost from them, are new (first searched in the period) or
    ranked neither time; the average latest position of the ranked ones; and the share of
    all pairs whose latest position is in the top 3, 10 and 100 (0..1)."""
    counts = dict.fromkeys(("improved", "declined", "unchanged", "entered", "lost", "new",
                            "not_ranked"), 0)
    for row in rows:
        moved = str(row.get("movement") or "")
        kind = ("improved" if moved.startswith("+") else "declined" if moved.startswith("-")
                else "unchanged" if moved == "=" else moved if moved in counts
                else "not_ranked")
        if kind == "new" and row.get("latest") is None:
            kind = "not_ranked"
        counts[kind] += 1
    ranked = [int(row["latest"]) for row in rows if row.get("latest") is not None]
    average = round(sum(ranked) / len(ranked), 1) if ranked else None
    shares = {f"top_{n}": round(sum(p <= n for p in ranked) / len(rows), 3) if rows else 0.0
              for n in TOP_SHARES}
    return {"pairs": len(rows), **counts, "average_position": average, **shares}


SEARCH_KEY = ("keyword", "engine", "country", "location", "language", "device", "domain")


def side_by_side(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]],
                 apart: str | None) -> list[dict[str, Any]]:
    """Rows of positions (``keyword`` ... ``domain``, ``position``, ``recorded_at``) from
    two sides joined on the search, less the column ``apart`` they differ in (country or
    device; None: they differ in time): ``a``, ``b`` (positions; None: not ranked),
    ``searched_a``, ``searched_b`` (None: not searched on that side), ``change`` (places
    gained from A to B) and ``movement`` in words (+3, -2, =, entered, lost, new)."""
    key = tuple(k for k in SEARCH_KEY if k != apart)
    joined: dict[tuple[Any, ...], dict[str, Any]] = {}
    for side, rows in (("a", a), ("b", b)):
        for row in rows:
            entry = joined.setdefault(tuple(row[k] for k in key), {
                **{k: row[k] for k in key}, "a": None, "b": None, "searched_a": None,
                "searched_b": None})
            entry[side], entry[f"searched_{side}"] = row["position"], row["recorded_at"]
    for entry in joined.values():
        before, after = entry["a"], entry["b"]
        entry["change"] = before - after if before is not None and after is not None else None
        entry["movement"] = movement(after, before, entry["searched_a"] is not None) \
            if entry["searched_b"] is not None else "not searched"
    return sorted(joined.values(), key=lambda e: tuple(str(e[k] or "") for k in key))


_MOVES = (("improved", "up"), ("declined", "down"), ("unchanged", "unchanged"),
          ("entered", "entered"), ("lost", "lost"), ("new", "new"),
          ("not_ranked", "not ranked"))


def summary_text(summary: Mapping[str, Any]) -> str:
    """``12 keyword x domain pair(s): 3 up, 2 down, 5 unchanged, 1 entered, 1 lost;
    average position 7.4; top 3 25%, top 10 58%, top 100 83%`` (moves that did not happen
    are left out)."""
    moves = ", ".join(f"{summary[key]} {word}" for key, word in _MOVES if summary.get(key))
    average = summary.get("average_position")
    shares = ", ".join(f"top {n} {summary[f'top_{n}']:.0%}" for n in TOP_SHARES)
    return (f"{summary['pairs']} keyword x domain pair(s)"
            f"{': ' + moves if moves else ''}; average position "
            f"{average if average is not None else '-'}; {shares}")
