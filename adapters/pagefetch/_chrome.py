"""What a profile's Chrome sends when it opens a page: the curl-impersonate target closest to
its version (TLS ClientHello, HTTP/2 settings and pseudo-header order), and the navigation
headers in Chrome's order (client hints, fetch metadata, encodings, languages).

Chrome's TLS and HTTP/2 fingerprints change rarely between versions; curl_cffi ships one
target per Chrome that changed them. A profile presenting Chrome 156 is fetched with the
newest target not newer than 156, and its own user agent and client hints: the headers are
ours (``default_headers=False``), never curl_cffi's, so they match the profile's tabs.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from adapters.browser import profile_headers, trustworthy
from domain.fingerprint import EngineFingerprint

ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
          "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")

_TARGET = re.compile(r"^chrome(\d+)(a?)(?:_(android|macos))?$")


@functools.cache
def _targets() -> dict[str, list[tuple[int, str]]]:
    """curl_cffi's Chrome targets by kind (``desktop``, ``android``, ``macos``), oldest
    first; the ``a`` variants (an alternative of the same version) are left out. (curl_cffi
    is imported on first use: a process that fetches nothing over HTTP, such as most CLI
    commands, does not pay its ~70 ms.)"""
    from curl_cffi.requests import BrowserType

    kinds: dict[str, list[tuple[int, str]]] = {"desktop": [], "android": [], "macos": []}
    for member in BrowserType:
        match = _TARGET.match(member.value)
        if match is None or match.group(2):
            continue
        kinds[match.group(3) or "desktop"].append((int(match.group(1)), member.value))
    return {kind: sorted(found) for kind, found in kinds.items()}



def impersonation(major: int, platform: str, mobile: bool) -> str:
    """The target for a Chrome ``major`` on ``platform`` (``Windows``, ``macOS``, ``Linux``,
    ``Android``): of the profile's kind where curl_cffi has one (Android for phones, macOS
    builds for Macs), the newest not newer than ``major``, else the oldest there is."""
    kind = "android" if mobile else "macos" if platform == "macOS" else "desktop"
    targets = _targets()
    found = targets[kind] or targets["desktop"]
    older = [name for version, name in found if version <= major]
    return older[-1] if older else found[0][1]


def navigation_headers(fp: EngineFingerprint, languages: tuple[str, ...], url: str,
                       referer: str | None = None) -> list[tuple[str, str]]:
    """The headers of a top-level navigation to ``url``, in Chrome's order: typed into the
    address bar (``referer`` None), or a link followed from ``referer`` (a next page).
    Client hints go only to secure origins, ``br``/``zstd`` only over https (as Chrome
    does); the cookie header is added by the session after these."""
    profile, hints = profile_headers(fp, languages)  # what the profile's tabs send too
    headers = list(hints.items()) if trustworthy(url) else []
    same = referer is not None and _origin(referer) == _origin(url)
    site = "none" if referer is None else "same-origin" if same else "cross-site"
    headers += [
        ("Upgrade-Insecure-Requests", "1"),
        ("User-Agent", profile["User-Agent"]),
        ("Accept", ACCEPT),
        ("Sec-Fetch-Site", site),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-User", "?1"),
        ("Sec-Fetch-Dest", "document")]
    if referer is not None:
        headers.append(("Referer", referer))
    headers += [("Accept-Encoding", accept_encoding(url)),
                ("Accept-Language", profile["Accept-Language"])]
    if urlsplit(url).scheme == "https":
        headers.append(("Priority", "u=0, i"))
    return headers


def accept_encoding(url: str) -> str:
    """What Chrome accepts: brotli and zstd only over https."""
    return "gzip, deflate, br, zstd" if urlsplit(url).scheme == "https" else "gzip, deflate"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or ""), parts.port
