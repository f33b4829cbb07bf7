"""Reusable validation rules for the boundary: hosts, ports, free text, patterns.

Each rule raises ``ValueError`` with a short reason; pydantic turns that into a field error.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from domain.egress import EgressPolicy, canonical_host
from domain.errors import ValidationError
from domain.patterns import UserPattern

MAX_HOST_LEN = 255
MAX_CREDENTIAL_LEN = 255
MAX_LABEL_LEN = 100

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_XSS = re.compile(
    r"<\s*/?\s*[a-z!]|javascript\s*:|vbscript\s*:|data\s*:\s*text/html|\bon[a-z]+\s*=|[<>]",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_host(value: str) -> str:
    """Return the normalised host (lower case, IPv6 without brackets, IPv4 in any form a
    browser accepts written as a dotted quad) or raise ValueError."""
    if not 1 <= len(value.strip()) <= MAX_HOST_LEN + 2:
        raise ValueError(f"must be 1..{MAX_HOST_LEN} characters")
    try:
        host = canonical_host(value)
    except ValueError:
        raise ValueError("is not a valid hostname or IP address") from None
    if not 1 <= len(host) <= MAX_HOST_LEN:
        raise ValueError(f"must be 1..{MAX_HOST_LEN} characters")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError("is not a valid hostname or IP address")
    return host


def check_text(value: str, *, max_len: int = MAX_LABEL_LEN) -> str:
    """Accept short free text (labels, tags) without markup, scripts or control characters."""
    text = value.strip()
    if len(text) > max_len:
        raise ValueError(f"must be at most {max_len} characters")
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters")
    if _XSS.search(text):
        raise ValueError("must not contain markup or script patterns")
    return text


def check_credential(value: str) -> str:
    """Accept a username or password: 1..255 characters, no control characters."""
    if not 1 <= len(value) <= MAX_CREDENTIAL_LEN:
        raise ValueError(f"must be 1..{MAX_CREDENTIAL_LEN} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def check_pattern(value: str) -> str:
    """Accept a regular expression RE2 can run (linear time; see ``domain.patterns``)."""
    UserPattern(value)
    return value


def check_http_url(value: str) -> str:
    """Accept an absolute http(s) URL with a host and no userinfo."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:pass@)")
    check_host(parts.hostname)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"has a bad port ({exc})") from None
    return value.strip()


def check_public_target(url: str, policy: EgressPolicy) -> None:
    """Refuse a URL whose host is local by name or by literal address (in any form a browser
    accepts, ``0x7f000001`` included) unless ``policy`` allows it. Names are checked again
    where they are resolved: ``adapters.egress`` decides on the address connected to."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = policy.refuse_host(parts.hostname or "", port)
    if reason is not None:
        raise ValueError(f"{reason} (allow_private_targets is off)")


def require_public_target(url: str, policy: EgressPolicy, field: str) -> None:
    """``check_public_target`` where no pydantic model turns the reason into a field error:
    the refusal is a ``ValidationError`` naming ``field``."""
    try:
        check_public_target(url, policy)
    except ValueError as exc:
        raise ValidationError(str(exc), field=field) from None


def check_country(value: str) -> str:
    """Accept an ISO 3166-1 alpha-2 country code, returned upper case."""
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError("must be a two-letter ISO country code such as US or DE")
    return code
