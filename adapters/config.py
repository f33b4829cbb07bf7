"""Host settings (one pydantic settings model, environment prefix ``VIPB_``) and the files
of a data dir."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.evidence import Retention
from domain.cron import check_timezone
from domain.egress import EgressPolicy, parse_allow_entry

_HOST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def default_host_id() -> str:
    """The machine's name, cut to what a host id allows."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:63].lstrip("._-")
    return name or "host"


def default_data_dir() -> Path:
    """The per-user data directory (e.g. ``~/.local/share/vipb`` on Linux)."""
    return Path(user_data_dir("vipb", appauthor=False))


class Settings(BaseSettings):
    """Where vipb keeps its data and how it behaves; every field can be set as ``VIPB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="VIPB_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """Directory holding the event store, read models, data keys and (maybe) the key file."""

    store: str | None = None
    """Unset: the event store, keys, audit chain and read models are SQLite files in the data
    dir (one host). ``postgresql://user@host:port/dbname``: they live in that PostgreSQL
    database, which several hosts share (password never in the URL; see README, several
    hosts)."""

    check_url: str = "https://httpbin.org/get"
    """Health-check URL fetched through each proxy; an httpbin-style JSON echo (``origin``,
    ``headers``) also yields the exit IP and the anonymity level."""

    allow_private_targets: bool = False
    """Allow loopback/private/link-local URLs as targets (tests and labs only: SSRF guard)."""

    egress_allow: list[str] = Field(default_factory=list, max_length=100)
    """Private networks vipb may still reach directly, each ``CIDR`` or ``ADDRESS:PORT``
    (e.g. ``VIPB_EGRESS_ALLOW='["10.1.2.3:8080"]'`` for a lab search engine)."""

    chromium: Path | None = None
    """Chromium executable; unset: Playwright's own build if installed, else Debian's."""

    filter_lists: list[str] = Field(default_factory=list)
    """Tracker filter lists (EasyList/EasyPrivacy format): file paths or http(s) URLs."""

    engine_urls: dict[str, str] = Field(default_factory=dict)
    """Search engine base URLs by engine name, overriding the public ones (labs and tests),
    e.g. ``VIPB_ENGINE_URLS='{"bing": "http://127.0.0.1:8080/search"}'``."""

    engines_dir: Path | None = None
    """A folder of engine definition files (``<name>.toml``) adding engines or replacing the
    shipped ones by name; edits apply to the next search (see README, rank tracking)."""

    default_engine: str = Field(default="duckduckgo", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    """The engine of a keyword added (or searched untracked) without ``--engine``: set it
    once (google, bing, ...) instead of naming it every time; every message names the
    engine used."""

    display_timezone: str | None = None
    """The IANA zone the CLI shows times in (``Europe/Berlin``; ``--tz`` for one command);
    unset: the machine's own zone. Times are stored, and ``--json``/``--csv`` print them,
    in UTC."""

    search_concurrency: int = Field(default=2, ge=1, le=32)
    """Rank-tracking searches run at once (each in its own tab)."""

    claim_lease: float = Field(default=60.0, ge=3.0, le=3600.0)
    """Seconds a host's claim on a search task holds without renewal (several hosts on one
    store): how long a dead host's searches wait before another host takes them over."""

    search_attempts: int = Field(default=3, ge=1, le=10)
    """Attempts per search before it is recorded as failed."""

    search_fetch: Literal["engine", "browser"] = "engine"
    """How searches fetch results pages: ``engine``, as each engine's definition says
    (``fetch``: Bing, DuckDuckGo, Brave, Yahoo and Yandex over HTTP as the profile's Chrome,
    in a tab when that meets a challenge; Google in a tab), or ``browser``: every search
    in a tab."""

    page_timeout: float = Field(default=30.0, ge=1.0, le=120.0)
    """Seconds a tab's page load may take before it fails (a timed-out load behind a proxy
    asks the proxy for a fresh tunnel to learn whether the proxy is to blame)."""

    search_retry_initial: float = Field(default=2.0, ge=0.0, le=600.0)
    """Seconds before the first retry of a failed search (doubling, with jitter)."""

    search_retry_max: float = Field(default=60.0, ge=0.0, le=3600.0)
    """Cap on any single wait between attempts."""

    evidence_max_age: float | None = Field(default=400.0, gt=0.0, le=36500.0)
    """Days a stored results page is kept after it was last read (``vipb rank evidence``,
    ``rank reparse``); then its text is dropped and its hash kept with a note. None (an
    empty value): no limit by age."""

    evidence_max_bytes: int | None = Field(default=5 * 1024**3, ge=1024**2)
    """Room the stored results pages may take (compressed bytes); the least recently read
    go first when it is full. None: no limit by size."""

    direct_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    """The country this host's own connection leaves from (ISO alpha-2, e.g. ``DE``): a
    direct search (``--proxy direct``) for that country is made from where it says; unset,
    a direct search for any country fails with ``no_proxy_in_country`` unless the keyword
    allows any exit country (vipb never guesses where it is)."""

    alert_attempts: int = Field(default=8, ge=1, le=50)
    """Delivery attempts per alert before it is given up (a refusal such as HTTP 404 or a
    refused recipient gives up at once)."""

    alert_retry_initial: float = Field(default=10.0, ge=0.0, le=3600.0)
    """Seconds before the first retry of an alert delivery (doubling, with jitter)."""

    alert_retry_max: float = Field(default=1800.0, ge=0.0, le=86400.0)
    """Cap on any single wait between alert delivery attempts."""

    alert_attempt_timeout: float = Field(default=30.0, ge=1.0, le=600.0)
    """Seconds one delivery attempt may take in all (connecting, sending, the answer): a
    receiver that trickles its answer fails the attempt at this deadline."""

    control_max_connections: int = Field(default=256, ge=4, le=65536)
    """Control-socket connections open at once; a new one closes the oldest idle one."""

    control_first_request_timeout: float = Field(default=10.0, gt=0.0, le=3600.0)
    """Seconds a new control-socket client has to send its first request."""

    control_idle_timeout: float = Field(default=600.0, gt=0.0, le=86400.0)
    """Seconds a control-socket client may wait between requests before it is closed."""

    audit_checkpoint_interval: float = Field(default=3600.0, ge=10.0, le=7 * 86400.0)
    """Seconds between the signed audit checkpoints a host writes to its log."""

    shutdown_timeout: float = Field(default=30.0, ge=1.0, le=3600.0)
    """Seconds a stopping host waits for running work before it exits anyway, naming the
    threads that were stuck (every acknowledged command is already committed)."""

    host_id: str = Field(default_factory=lambda: default_host_id())
    """This host's name in a cluster (``vipb host run --host-id``): who claimed which search,
    who projects. Letters, digits, ``.``, ``_`` and ``-``; default: the machine's name."""

    @field_validator("display_timezone")
    @classmethod
    def _display_timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("check_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. "
                             "https://httpbin.org/get")
        return value

    @field_validator("host_id")
    @classmethod
    def _host_id(cls, value: str) -> str:
        if not _HOST_ID.match(value):
            raise ValueError("1 to 63 letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit")
        return value

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from adapters.sql import PgLocation  # psycopg only when a URL is given
        from domain.errors import ValidationError

        try:
            PgLocation.parse(value)
        except ValidationError as exc:
            raise ValueError(str(exc).removeprefix("store: ")) from None
        return value.strip()

    @field_validator("egress_allow")
    @classmethod
    def _allow_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_allow_entry(entry)
        return value

    def evidence_retention(self) -> Retention:
        """How long and how much evidence is kept."""
        return Retention(
            max_age=self.evidence_max_age * 86400 if self.evidence_max_age else None,
            max_bytes=self.evidence_max_bytes)

    def egress_policy(self) -> EgressPolicy:
        """What vipb may connect to directly (see ``domain.egress``)."""
        return EgressPolicy.from_settings(self.allow_private_targets, self.egress_allow)

    def egress_status(self) -> dict[str, object]:
        """The egress allowances, as `vipb status` shows them."""
        return {"allow_private_targets": self.allow_private_targets,
                "allowed": list(self.egress_allow)}


@dataclass(frozen=True)
class DataPaths:
    """The files of one data dir."""

    root: Path

    @property
    def events(self) -> Path:
        """The event store (eventsourcing SQLite)."""
        return self.root / "events.sqlite"

    @property
    def views(self) -> Path:
        """The read models (plain tables, rebuildable)."""
        return self.root / "views.sqlite"

    @property
    def evidence(self) -> Path:
        """The results pages searches read, compressed (``vipb rank evidence``)."""
        return self.root / "evidence.sqlite"

    @property
    def metrics_token(self) -> Path:
        """The bearer token the host's metrics endpoint asks for (0600)."""
        return self.root / "metrics.token"

    @property
    def dashboard_token(self) -> Path:
        """The access token ``vipb serve`` asks for (0600)."""
        return self.root / "dashboard.token"

    @property
    def alerts_lock(self) -> Path:
        """Held by the one process that raises and delivers alerts."""
        return self.root / "alerts.lock"

    @property
    def keys(self) -> Path:
        """Wrapped per-aggregate data keys (shredding deletes rows here)."""
        return self.root / "keys.sqlite"

    @property
    def audit(self) -> Path:
        """The hash chain over the event log (``vipb audit verify``)."""
        return self.root / "audit.sqlite"

    @property
    def socket(self) -> Path:
        """The control socket of a running host (mode 0600)."""
        return self.root / "vipb.sock"

    @property
    def host_lock(self) -> Path:
        """Held (flock) by the running host: one host per data dir."""
        return self.root / "host.lock"

    def is_initialized(self) -> bool:
        """True once ``vipb init`` has run here."""
        return self.keys.is_file() and self.events.is_file()
