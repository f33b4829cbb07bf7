"""Long-run soak (``bash scripts/soak.sh --long 2h``): a host on a fresh data dir searches
the local engine through a local proxy on a schedule every minute, for hours; every minute
it samples the host's RSS, open files and threads, the Chromium processes under it (count
and summed RSS) and the searches done. Prints one line per sample, a CSV under ``.soak/``
and a summary with the drift from the first sample after warm-up to the last.

    python -m scripts.longrun --minutes 120 [--keywords 5] [--out .soak/long.csv]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts.fixtures.serp_site import serp_site
from scripts.fixtures.servers import pproxy
from scripts.proctree import descendants, is_chromium

VIPB = [sys.executable, "-m", "entrypoints.cli"]
WARM_UP = 5  # samples before the baseline: the browser and caches settle first


@dataclass(frozen=True)
class Sample:
    """One minute's figures."""

    minute: int
    host_rss_mb: float
    fds: int
    threads: int
    chromium: int
    chromium_rss_mb: float
    completed: int
    failed: int


def _vipb(*args: str) -> str:
    proc = subprocess.run([*VIPB, *args], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"vipb {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _chromium(pid: int) -> tuple[int, float]:
    count, rss = 0, 0
    for child in descendants(pid):
        if is_chromium(child):
            count += 1
            with contextlib.suppress(OSError):  # gone meanwhile
                rss += _status(child, "VmRSS")
    return count, rss / 1024


def _searches() -> tuple[int, int]:
    rows = json.loads(_vipb("rank", "tasks", "--limit", "10000", "--json"))
    return (sum(r["state"] == "completed" for r in rows),
            sum(r["state"] == "failed" for r in rows))


def sample(host: int, minute: int) -> Sample:
    """The figures of the host process ``host`` now."""
    count, rss = _chromium(host)
    completed, failed = _searches()
    return Sample(minute, round(_status(host, "VmRSS") / 1024, 1),
                  len(os.listdir(f"/proc/{host}/fd")), _status(host, "Threads"), count,
                  round(rss, 1), completed, failed)


def main() -> None:
    """Run the long soak; exit 1 when searches failed or no search completed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--keywords", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(".soak/long.csv"))
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="vipb-longrun-")) / "data"
    os.environ.update({"VIPB_DATA_DIR": str(data), "VIPB_KEYRING": "off",
                       "VIPB_ALLOW_PRIVATE_TARGETS": "1", "PYTHONUNBUFFERED": "1"})
    _vipb("init")
    with serp_site() as engine, pproxy("http") as proxy:
        os.environ["VIPB_ENGINE_URLS"] = json.dumps(engine.engine_urls())
        words = [f"espresso grinder {i}" for i in range(args.keywords)]
        for word in words:
            engine.results[word] = [f"https://f{j}.example/" for j in range(7)] + [
                "https://target.example/"]
            _vipb("rank", "keyword", "add", word)
        _vipb("rank", "domain", "add", "target.example")
        _vipb("proxy", "add", f"http://127.0.0.1:{proxy.port}")
        _vipb("schedule", "add", "every-minute", "--cron", "* * * * *")
        host = subprocess.Popen([*VIPB, "host", "run"], stderr=subprocess.PIPE, text=True)
        assert host.stderr is not None
        for line in host.stderr:
            if "host started" in line:
                break
        else:
            raise SystemExit("the host did not start")
        threading.Thread(target=lambda: [None for _ in host.stderr or []], daemon=True).start()
        samples: list[Sample] = []
        start = time.monotonic()
        try:
            for minute in range(args.minutes + 1):
                # the pace of the samples themselves, one a minute
                time.sleep(max(0.0, start + 60 * minute - time.monotonic()))
                samples.append(sample(host.pid, minute))
                print(" ".join(f"{k}={v}" for k, v in asdict(samples[-1]).items()), flush=True)
        finally:
            host.terminate()
            host.wait(120)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(samples[0])))
        writer.writeheader()
        writer.writerows(asdict(s) for s in samples)
    base, last = samples[min(WARM_UP, len(samples) - 1)], samples[-1]
    searches = last.completed - base.completed
    drift = last.host_rss_mb - base.host_rss_mb
    print(f"\n{args.minutes} min, {last.completed} searches completed, {last.failed} failed; "
          f"from minute {base.minute}: host RSS {base.host_rss_mb} -> {last.host_rss_mb} MB "
          f"({drift:+.1f} MB, {1024 * drift / max(searches, 1):+.1f} KB per search), fds "
          f"{base.fds} -> {last.fds}, threads {base.threads} -> {last.threads}, Chromium "
          f"processes {base.chromium} -> {last.chromium} ({base.chromium_rss_mb} -> "
          f"{last.chromium_rss_mb} MB); samples in {args.out}")
    if last.failed or not last.completed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
