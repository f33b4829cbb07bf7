"""The demo workload, run through the real ``vipb`` CLI entry point (see scripts/demo.sh)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

VIPB = [sys.executable, "-m", "entrypoints.cli"]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the lab servers in tests/
from scripts.fixtures.serp_site import SerpSite, serp_site  # noqa: E402 - after the path is set

DEMO_PROXIES = """\
# a demo pool on loopback: every form `vipb proxy import` accepts
127.0.0.1:3128
127.0.0.1:3129:alice:demo-password-1
socks5://bob:demo-password-2@127.0.0.1:1080
socks4://127.0.0.1:1081
https://127.0.0.1:8443
not a proxy line
"""


def vipb(*args: str, check: bool = True) -> str:
    """Run one CLI command, echo it and its output."""
    print(f"\n$ vipb {' '.join(args)}", flush=True)
    proc = subprocess.run([*VIPB, *args], capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if check and proc.returncode != 0:
        raise SystemExit(f"demo step failed with exit code {proc.returncode}")
    return proc.stdout


def lab_proxies(engine: SerpSite) -> None:
    """Real local proxies and a check endpoint: validate them and pick through rotation."""
    from scripts.fixtures.servers import echo_server_process, free_port, pproxy

    with echo_server_process() as url, pproxy("http", "lab", "lab-pass") as http_proxy, \
            pproxy("socks5", "lab", "lab-pass") as socks_proxy:
        vipb("proxy", "add", f"http://lab:lab-pass@127.0.0.1:{http_proxy.port}",
             "--country", "NL", "--label", "lab-http")
        vipb("proxy", "add", f"socks5://lab:lab-pass@127.0.0.1:{socks_proxy.port}",
             "--country", "NL", "--label", "lab-socks")
        vipb("proxy", "add", f"http://127.0.0.1:{free_port()}", "--label", "lab-dead")
        vipb("proxy", "validate", "--all", "--samples", "2", "--timeout", "3",
             "--check-url", url, check=False)
        vipb("rotation", "set", "geographic", "--param", "countries=NL")
        for _ in range(3):
            vipb("rotation", "pick", "--domain", "shop.example.com")
        vipb("query", "rotation_events", "--limit", "5")
        if tabs():
            rank_tracking(engine)


def have_chromium() -> bool:
    """Is there a Chromium for tabs? (Says why not.)"""
    from adapters.browser import find_chromium
    from domain.errors import BrowserNotFoundError

    try:
        find_chromium()
    except BrowserNotFoundError as exc:
        print(f"\n(no tabs or rank tracking in this demo: {exc})")
        return False
    return True


def tabs() -> bool:
    """Tabs in real Chromium through the lab proxies, with a privacy profile and blocking.
    False when there is no Chromium."""
    from scripts.fixtures.sites import local_site

    if not have_chromium():
        return False
    with local_site() as site:
        vipb("privacy", "create", "demo-berlin", "--os", "windows", "--locale", "de-DE",
             "--timezone", "Europe/Berlin", "--seed", "7")
        vipb("privacy", "blocking", "demo-berlin", "on")
        for page in ("/trackers.html", "/probe.html"):  # proxy picked by the geographic rule
            vipb("tab", "visit", site.url(page), "--profile", "demo-berlin", "--country", "NL")
        vipb("tab", "list", "--all")
        vipb("privacy", "stats")
        served = sorted(set(site.requests))
        print(f"\nthe local site served {served} (the tracker paths were blocked)")
        # creator watch: a page is loaded and read, nothing else is done on it
        vipb("creator", "add", "demo-creator", site.url("/frame.html"), "--platform", "web")
        vipb("creator", "check", "demo-creator", "--profile", "demo-berlin")
        vipb("creator", "list")
    return True


def rank_tracking(engine: SerpSite) -> None:
    """Rank tracking against the local search engine, through the lab proxies: positions with
    titles and SERP features, desktop and mobile, "not ranked in N results", a search that
    fails (captcha) and says so, a schedule."""
    engine.results["espresso grinder"] = [
        *(f"https://review{i}.example/grinders" for i in range(6)),
        "https://www.demo-shop.example/grinders", *(f"https://more{i}.example/" for i in range(9))]
    engine.results["pour over kettle"] = [f"https://kettles{i}.example/" for i in range(14)]
    vipb("rank", "domain", "add", "demo-shop.example")
    vipb("rank", "domain", "add", "demo-blog.example", "--exact")
    vipb("rank", "keyword", "add", "espresso grinder", "--country", "NL", "--depth", "20")
    vipb("rank", "keyword", "add", "pour over kettle", "--engine", "bing")
    vipb("rank", "keyword", "add", "pour over kettle", "--engine", "bing", "--device", "mobile")
    vipb("rank", "engines")
    vipb("rank", "run")  # every tracked keyword, proxies from the rotation engine
    alerts(engine)
    engine.fail_next, engine.failure = 100, "captcha"
    vipb("rank", "run", "--keyword", "blocked query", "--engine", "google", check=False)
    engine.fail_next = 0
    vipb("rank", "history")
    vipb("rank", "tasks")
    vipb("rank", "report")
    report = Path(os.environ["VIPB_DATA_DIR"]).parent / "rank-report.html"
    vipb("rank", "report", "--format", "html", "-o", str(report), "--evidence")
    print(f"report written: {report} ({report.stat().st_size} bytes, one self-contained file; "
          "each latest position links to the results page it was read from)")
    # the proof behind a position: the page as it was read, and a re-read of history
    done = json.loads(vipb("rank", "tasks", "--state", "completed", "--json"))
    page = report.with_name("evidence.html")
    vipb("rank", "evidence", done[0]["id"][:8], "-o", str(page))
    vipb("rank", "reparse", "--dry-run")
    vipb("schedule", "add", "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Amsterdam",
         "--creators")
    vipb("schedule", "list")


def alerts(engine: SerpSite) -> None:
    """An alert rule with a signed webhook at a local receiver; demo-shop.example climbs for
    'espresso grinder', the host raises the alert and the receiver checks its signature."""
    from scripts.fixtures.servers import webhook_receiver

    with tempfile.NamedTemporaryFile("w", suffix=".secret", delete=False) as handle:
        handle.write("demo-webhook-secret-0123456789\n")  # a file only its owner reads
    with webhook_receiver() as hook:
        vipb("alert", "add", "shop-moves", "moves", "2", "--domain", "demo-shop.example",
             "--webhook", hook.url, "--secret-file", handle.name)
        vipb("alert", "test", "shop-moves")
        engine.results["espresso grinder"].insert(2, engine.results["espresso grinder"].pop(6))
        vipb("rank", "run", "--keyword", "espresso grinder")
        if not hook.wait_for(2, timeout=60):
            raise SystemExit("the alert did not reach the webhook receiver")
        alert = hook.deliveries[1]
        if not alert.signed_with("demo-webhook-secret-0123456789"):
            raise SystemExit("the alert's signature does not verify")
        print(f"\nwebhook receiver got: {alert.json()['message']!r} (delivery id "
              f"{alert.headers['X-Vipb-Delivery'][:8]}, HMAC-SHA256 signature valid)")
    os.unlink(handle.name)
    vipb("alert", "list")
    vipb("alert", "history")


def start_host() -> subprocess.Popen[str]:
    """`vipb host run` in the background; returns once its control socket serves."""
    print("\n$ vipb host run &", flush=True)
    host = subprocess.Popen([*VIPB, "host", "run", "--log-format", "text"],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert host.stderr is not None
    for line in host.stderr:
        sys.stderr.write(f"  [host] {line}")
        if "host started" in line:
            threading.Thread(target=HOST_LOG.extend, args=(host.stderr,), daemon=True).start()
            return host
    raise SystemExit("the host did not start")


HOST_LOG: list[str] = []  # the host's log while it runs (drained so it never blocks)


def stop_host(host: subprocess.Popen[str]) -> None:
    """SIGTERM: the host finishes running commands, flushes and exits."""
    print("\n$ kill -TERM <host>", flush=True)
    host.terminate()
    host.wait(120)
    for line in HOST_LOG[-4:]:
        sys.stderr.write(f"  [host] {line}")
    print(f"host exited with code {host.returncode}")


def main() -> None:
    """The host on a fresh data dir, and a workload through it: the proxy pool, validation,
    rotation, tabs in Chromium, rank tracking, the audit trail."""
    from scripts.fixtures.servers import echo_server_process

    print(f"data dir: {os.environ['VIPB_DATA_DIR']}")
    vipb("init")
    os.environ["VIPB_ALLOW_PRIVATE_TARGETS"] = "1"  # the demo's lab lives on 127.0.0.1
    with serp_site() as engine, echo_server_process() as check_url:
        os.environ["VIPB_CHECK_URL"] = check_url  # a local echo stands in for httpbin
        # every check passes on a fresh install (a missing Chromium fails it: tabs need one)
        vipb("doctor", check=have_chromium())
        os.environ["VIPB_ENGINE_URLS"] = json.dumps(engine.engine_urls())  # a local engine
        os.environ["VIPB_SEARCH_RETRY_INITIAL"] = "0.5"
        host = start_host()
        try:
            workload(engine)
        finally:
            stop_host(host)
    vipb("audit", "verify")
    vipb("status")  # the host is gone: figures straight from the data dir
    data_dir = Path(os.environ["VIPB_DATA_DIR"])
    leaked = [p.name for p in data_dir.iterdir() if p.is_file()
              and (b"demo-password" in p.read_bytes() or b"lab-pass" in p.read_bytes())]
    print(f"\nplain-text passwords found in {data_dir}: {leaked or 'none'}")
    if leaked or host.returncode != 0:
        raise SystemExit(1)


def workload(engine: SerpSite) -> None:
    """Commands through the running host (the CLI finds it on the data dir's socket)."""
    vipb("status")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write(DEMO_PROXIES)
    vipb("proxy", "import", handle.name, check=False)  # one bad line on purpose: exit 1
    vipb("proxy", "add", "http://carol:demo-password-3@127.0.0.1:8080", "--country", "DE",
         "--tag", "demo")
    rows = json.loads(vipb("proxy", "list", "--json"))
    vipb("proxy", "update", rows[0]["id"][:8], "--weight", "5", "--label", "primary")
    vipb("rotation", "set", "sticky_session", "--param", "ttl_seconds=900")
    vipb("proxy", "remove", rows[1]["id"])
    lab_proxies(engine)
    vipb("proxy", "list")
    vipb("query", "proxies", "--where", "protocol=socks5")
    vipb("events", "log", "--limit", "20")
    vipb("projections", "rebuild")
    vipb("projections", "status")
    vipb("status")


if __name__ == "__main__":
    main()
