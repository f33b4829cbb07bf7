"""``vipb doctor``: is this machine and data dir ready to run vipb? Each check is one line
with a status (ok, warn, fail) and, unless ok, how to fix it. Nothing is written: the data
dir is read as it is, the check URL is fetched once directly (through the egress guard),
proxies are only connected to (TCP), Chromium is launched headless on about:blank.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from adapters.browser import (
    FONT_PACKAGES,
    LAUNCH_ARGS,
    browser_environment,
    find_chromium,
    missing_fonts,
    sandbox_possible,
)
from adapters.config import DataPaths, Settings
from adapters.control import ControlClient, HostUnavailable
from adapters.egress import EgressGuard
from adapters.proxycheck import ProxyChecker
from adapters.secrets import KEY_FILE, load_master_key
from adapters.store import StoreBackend, open_backend
from domain.errors import BaseError
from projections.alerts import alert_rules, alert_states
from projections.queries import list_proxies

Status = Literal["ok", "warn", "fail"]
LOW_DISK = 1 << 30  # below this: warn (events, views and Chromium profiles grow)
NO_DISK = 100 << 20  # below this: fail (SQLite cannot commit when the disk is full)
CONNECT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a user would fix them."""
    paths = DataPaths(settings.data_dir)
    store = open_backend(paths.root, settings.store)
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("data-dir", lambda: check_data_dir(paths, store)),
        ("store", lambda: check_store(store)),
        ("master-key", lambda: check_master_key(paths, store)),
        ("disk", lambda: check_disk(paths.root)),
        ("chromium", lambda: check_chromium(settings)),
        ("sandbox", check_sandbox),
        ("fonts", check_fonts),
        ("egress", lambda: check_egress(settings)),
        ("check-url", lambda: check_url(settings)),
        ("proxies", lambda: check_proxies(paths, store)),
        ("alerts", lambda: check_alerts(paths, store)),
        ("host", lambda: check_host(paths)),
    ]
    return [_guarded(name, check) for name, check in checks]


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """A check that raises is a failed check, not a crashed doctor."""
    try:
        return check()
    except Exception as exc:  # the report must go on: name what broke
        return Check(name, "fail", f"{type(exc).__name__}: {exc}")


def check_store(store: StoreBackend) -> Check:
    """The store answers (PostgreSQL: reachable with the credentials given, initialised)."""
    if store.on_files:
        return Check("store", "ok", store.describe())
    try:
        initialized = store.is_initialized()
    except BaseError as exc:
        return Check("store", "fail", exc.message,
                     "check VIPB_STORE, the password source (README: several hosts) and that "
                     "the server accepts this host")
    if not initialized:
        return Check("store", "warn", f"{store.describe()} has no vipb data yet", "vipb init")
    return Check("store", "ok", store.describe())


def _initialized(paths: DataPaths, store: StoreBackend) -> bool:
    """Whether `vipb init` has run (a store that does not answer counts as not: its own
    check says why)."""
    try:
        return store.is_initialized()
    except BaseError:
        return paths.is_initialized()


def check_data_dir(paths: DataPaths, store: StoreBackend) -> Check:
    """The data dir exists, is initialised, is ours and private (0700; files 0600)."""
    root = paths.root
    if not root.exists():
        return Check("data-dir", "warn", f"{root} does not exist yet",
                     f"vipb --data-dir {root} init")
    info = root.stat()
    if info.st_uid != os.getuid():
        return Check("data-dir", "fail", f"{root} belongs to uid {info.st_uid}, not to you",
                     f"run vipb as its owner, or chown -R {os.getuid()} {root}")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return Check("data-dir", "fail", f"{root} has mode {mode:o}: others can read it",
                     f"chmod 700 {root}")
    if not _initialized(paths, store):
        return Check("data-dir", "warn", f"{root} is not initialised",
                     f"vipb --data-dir {root} init")
    loose = [p.name for p in root.iterdir()  # the key file: the master-key check's line
             if p.is_file() and p.name != KEY_FILE and stat.S_IMODE(p.stat().st_mode) & 0o077]
    if loose:
        return Check("data-dir", "fail", f"readable by others: {', '.join(sorted(loose))}",
                     f"chmod 600 {' '.join(str(root / n) for n in sorted(loose))}")
    return Check("data-dir", "ok", f"{root} (mode 700, files owner-only)")


def check_master_key(paths: DataPaths, store: StoreBackend) -> Check:
    """A key source holds this data dir's master key, and it reads."""
    try:
        key = load_master_key(paths.root)
    except BaseError as exc:
        return Check("master-key", "fail", exc.message,
                     "fix the key source named above (see README: keys)")
    if key is not None:
        return Check("master-key", "ok", f"from {key.source}")
    if not _initialized(paths, store):
        return Check("master-key", "warn", "none yet", "vipb init creates one")
    return Check("master-key", "fail", "no key source holds this data dir's master key",
                 "set VIPB_MASTER_KEY, pass it as the systemd credential vipb-master-key, or "
                 "restore the key file from your backup")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(root: Path) -> Check:
    """Free space where the data dir lives."""
    free = shutil.disk_usage(_existing(root)).free
    text = f"{free / (1 << 30):.1f} GiB free on the data dir's file system"
    if free < NO_DISK:
        return Check("disk", "fail", text, "free space: SQLite cannot commit on a full disk")
    if free < LOW_DISK:
        return Check("disk", "warn", text, "free space (events and Chromium profiles grow)")
    return Check("disk", "ok", text)


def check_chromium(settings: Settings) -> Check:
    """Chromium is found and starts headless (as tabs start it)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    fix = ("apt-get install chromium, or set chromium = \"/path/to/chrome\" in vipb.toml "
           "(VIPB_CHROMIUM)")
    with sync_playwright() as pw:
        try:
            chromium = find_chromium(settings.chromium, Path(pw.chromium.executable_path))
        except BaseError as exc:
            return Check("chromium", "fail", exc.message, fix)
        try:
            browser = pw.chromium.launch(executable_path=str(chromium.path), headless=True,
                                         args=list(LAUNCH_ARGS),
                                         chromium_sandbox=sandbox_possible(),
                                         env=dict[str, str | float | bool](browser_environment()),
                                         timeout=60_000)
            try:
                browser.new_page().goto("about:blank")
            finally:
                browser.close()
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return Check("chromium", "fail", f"{chromium.path} does not start: {first}", fix)
    return Check("chromium", "ok", f"{chromium.path} {chromium.version} starts headless")


def check_sandbox() -> Check:
    """Chromium's renderers run in its sandbox (not as root, user namespaces allowed)."""
    if sandbox_possible():
        return Check("sandbox", "ok", "Chromium runs sandboxed (user namespaces)")
    if os.geteuid() == 0:
        return Check("sandbox", "warn", "running as root: Chromium cannot use its sandbox, "
                     "a renderer taken over by a page has root's rights",
                     "run vipb as its own user (README: install as a service)")
    return Check("sandbox", "warn", "unprivileged user namespaces are off: Chromium runs "
                 "without its sandbox", "sysctl -w kernel.unprivileged_userns_clone=1 "
                 "(and user.max_user_namespaces > 0)")


def check_fonts() -> Check:
    """The metric-compatible fonts tabs present under Windows/macOS names are installed."""
    missing = missing_fonts()
    if missing:
        return Check("fonts", "warn", f"missing: {', '.join(missing)} (profiles of other "
                     "systems then measure fallback fonts)",
                     f"apt-get install {FONT_PACKAGES}")
    return Check("fonts", "ok", "metric-compatible fonts for Windows and macOS profiles")


def check_egress(settings: Settings) -> Check:
    """What vipb may reach directly: private targets are for tests and labs."""
    allowed = f"; allowed: {', '.join(settings.egress_allow)}" if settings.egress_allow else ""
    if settings.allow_private_targets:
        return Check("egress", "warn", "loopback and private targets are allowed (SSRF guard "
                     f"off: tests and labs only){allowed}",
                     "unset allow_private_targets (VIPB_ALLOW_PRIVATE_TARGETS) in production")
    return Check("egress", "ok", f"public targets only{allowed}")


def check_url(settings: Settings) -> Check:
    """The health-check URL answers when fetched directly."""
    fix = ("set check_url (VIPB_CHECK_URL) to an http(s) echo endpoint this machine "
           "reaches, e.g. your own httpbin")
    try:
        checker = ProxyChecker(settings.check_url, timeout=10.0,
                               egress=EgressGuard(settings.egress_policy(), connect_timeout=10))
    except ValueError as exc:
        return Check("check-url", "fail", f"{settings.check_url}: {exc}", fix)
    problem = asyncio.run(checker.probe())
    if problem is not None:
        return Check("check-url", "fail", f"{settings.check_url}: {problem}", fix)
    seen = f" (sees us as {checker.client_ip})" if checker.client_ip else ""
    if checker.client_country:
        countries = f"; names exit countries (here: {checker.client_country}): validations " \
                    "confirm where each proxy leaves from"
    else:
        countries = ("; names no exit country: a proxy counts as in the country it is "
                     "declared in (an ipinfo-style check URL confirms it)")
    return Check("check-url", "ok", f"{settings.check_url} answers{seen}{countries}")


async def _connects(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                           CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def _reachable(endpoints: list[tuple[str, str, int]]) -> list[str]:
    gate = asyncio.Semaphore(50)

    async def one(proxy_id: str, host: str, port: int) -> str | None:
        async with gate:
            return None if await _connects(host, port) else proxy_id

    found = await asyncio.gather(*(one(*e) for e in endpoints))
    return [p for p in found if p is not None]


def _views(paths: DataPaths, store: StoreBackend) -> Any:
    """A read-only connection to the read models, None when there are none yet."""
    if store.on_files and not paths.views.exists():
        return None
    return store.connect_read_only()


def check_proxies(paths: DataPaths, store: StoreBackend) -> Check:
    """Every enabled proxy in the pool accepts a TCP connection."""
    views = _views(paths, store)
    if views is None:
        return Check("proxies", "ok", "no pool yet")
    with closing(views) as conn:
        try:
            rows = [r for r in list_proxies(conn) if r.status != "disabled"]
        except Exception as exc:  # sqlite3 or psycopg: a broken or missing table
            return Check("proxies", "fail", f"cannot read the proxies view: {exc}",
                         "vipb projections rebuild")
    if not rows:
        return Check("proxies", "ok", "the pool is empty (vipb proxy add)")
    dead = asyncio.run(_reachable([(r.id, r.host, r.port) for r in rows]))
    if not dead:
        return Check("proxies", "ok", f"all {len(rows)} accept connections")
    named = ", ".join(d[:8] for d in dead[:5]) + (" ..." if len(dead) > 5 else "")
    detail = f"{len(dead)} of {len(rows)} refuse connections or time out: {named}"
    fix = "vipb proxy validate --all, then fix or remove them (vipb proxy remove ID)"
    return Check("proxies", "fail" if len(dead) == len(rows) else "warn", detail, fix)


def check_alerts(paths: DataPaths, store: StoreBackend) -> Check:
    """Alerts are being delivered: none given up, none waiting to retry."""
    views = _views(paths, store)
    if views is None:
        return Check("alerts", "ok", "no rules yet")
    with closing(views) as conn:
        try:
            rules = len(alert_rules(conn, include_removed=False))
            states = alert_states(conn)
        except Exception as exc:  # sqlite3 or psycopg: a broken or missing table
            return Check("alerts", "fail", f"cannot read the alerts view: {exc}",
                         "vipb projections rebuild")
    if not rules:
        return Check("alerts", "ok", "no rules (vipb alert add)")
    stuck = {k: v for k, v in states.items() if k in ("failed", "retrying") and v}
    if stuck:
        detail = ", ".join(f"{v} {k}" for k, v in stuck.items())
        return Check("alerts", "warn", f"{rules} rule(s); {detail}",
                     "vipb alert history -c rule,message,last_error; vipb alert test NAME")
    return Check("alerts", "ok", f"{rules} rule(s), {states['delivered']} alert(s) delivered")


def check_host(paths: DataPaths) -> Check:
    """A running host's control socket is owner-only."""
    socket_path = paths.socket
    if not socket_path.exists():
        return Check("host", "ok", "not running (commands run in process)")
    mode = stat.S_IMODE(socket_path.stat().st_mode)
    try:
        with ControlClient(socket_path):
            pass
    except HostUnavailable:
        return Check("host", "ok", "not running (a stale socket file is removed at start)")
    if mode & 0o077:
        return Check("host", "fail", f"control socket {socket_path} has mode {mode:o}",
                     "restart the host (it creates the socket owner-only)")
    return Check("host", "ok", f"running; control socket owner-only ({socket_path})")
