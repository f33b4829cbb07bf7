"""Rank tracking rules: which result URLs belong to a target domain, and at what position.

Pure functions; the SERP parsers (adapters) produce the ordered organic result URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
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
