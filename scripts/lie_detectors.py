"""Run public lie detectors against vipb's guarded tabs and bare Chromium, side by side.

The detectors are not ours and are not shipped: point the script at copies you fetched
(``git clone https://github.com/abrahamjuliot/creepjs`` gives ``creepjs/docs``, the built
CreepJS page; ``npm pack fpscanner`` gives ``package/dist/fpScanner.es.js``). They are served
on 127.0.0.1 and load nothing else that answers (the machine may be offline: CreepJS's
calls home fail and it reports locally). Each runs in a bare context of the same Chromium
and in a vipb tab per OS profile (the whole path: profile, guard in every realm, egress
guard), and the script prints what each concluded.

Usage: python -m scripts.lie_detectors --creepjs PATH/creepjs/docs \
           --fpscanner PATH/fpScanner.es.js [--os windows macos linux] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("VIPB_KEYRING", "off")

from adapters.config import Settings
from service.bootstrap import bootstrap
from service.runtime import Runtime, initialize

WAIT_MS = 120_000
# waits in the page (up to WAIT_MS) for what a detector publishes when it is done
_UNTIL = """const until = async (get) => {
    for (let waited = 0; !get() && waited < %s; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return get();
  };""".replace("%s", str(WAIT_MS))

# CreepJS exposes what it concluded as window.Fingerprint once it has finished.
CREEPJS = """(async () => {
  UNTIL
  const f = await until(() => window.Fingerprint);
  if (!f) return null;
  const on = (flags) => Object.entries(flags || {}).filter(([, v]) => v).map(([k]) => k);
  const headless = f.headless || {};
  return {
    lies: (f.lies || {}).totalLies || 0,
    lied: Object.keys((f.lies || {}).data || {}),
    worker_lies: (f.workerScope || {}).lied || 0,
    headless: headless.headlessRating, like_headless: headless.likeHeadlessRating,
    stealth: headless.stealthRating,
    headless_signs: on(headless.headless), like_headless_signs: on(headless.likeHeadless),
    stealth_signs: on(headless.stealth),
    trash: ((f.trash || {}).trashBin || []).map((t) => t.name + ": " + t.value),
  };
})()""".replace("UNTIL", _UNTIL)

FPSCANNER_PAGE = """<!doctype html><html><head><title>fpscanner</title></head><body>
<script type="module">
import Scanner from "./fpScanner.es.js";
window.fpResult = await new Scanner().collectFingerprint({encrypt: false});
</script></body></html>"""

FPSCANNER = """(async () => {
  UNTIL
  const f = await until(() => window.fpResult);
  if (!f) return null;
  const hits = Object.entries(f.fastBotDetectionDetails || {}).filter(([, v]) => v.detected);
  return {bot: f.fastBotDetection,
          detections: hits.map(([name, v]) => name + " (" + v.severity + ")")};
})()""".replace("UNTIL", _UNTIL)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Serve without a line per request."""


@contextmanager
def _served(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _bare(rt: Runtime, url: str, probe: str) -> Any:
    """``probe`` on ``url`` in a context of the same browser with no guard."""

    async def run() -> Any:
        context = await (await rt.engine.browser()).new_context()
        try:
            page = await context.new_page()
            await page.goto(url)
            return await page.evaluate(probe)
        finally:
            await context.close()

    return rt.engine.run(run())


def _dispatch(rt: Runtime, channel: str, **payload: Any) -> Any:
    reply = rt.dispatcher.dispatch(channel, payload)
    if not reply["success"]:
        raise SystemExit(f"{channel}: {reply['error']}")
    return reply["data"]


def _guarded(rt: Runtime, url: str, probe: str, os_name: str, seed: int,
             made: set[str]) -> Any:
    """``probe`` on ``url`` in a vipb tab with the ``os_name`` profile of ``seed`` (the same
    profile for every detector: ``made`` holds those already created)."""
    profile = f"lie-{os_name}-{seed}"
    if profile not in made:
        _dispatch(rt, "privacy:set-fingerprint", profile=profile, seed=seed, os=[os_name])
        made.add(profile)
    tab = _dispatch(rt, "tab:create", url=url, profile=profile, proxy="direct")
    try:
        return rt.tabs().tab(tab["id"]).get().evaluate(probe).get()
    finally:
        _dispatch(rt, "tab:close", tab_id=tab["id"])


def _sides(rt: Runtime, url: str, probe: str, systems: list[str], seed: int,
           say: Callable[[str], None], made: set[str]) -> dict[str, Any]:
    results = {"bare": _bare(rt, url, probe)}
    say(f"  bare: {json.dumps(results['bare'])}")
    for os_name in systems:
        results[os_name] = _guarded(rt, url, probe, os_name, seed, made)
        say(f"  {os_name}: {json.dumps(results[os_name])}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the detectors given; print their verdicts (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creepjs", type=Path, help="CreepJS's built docs/ directory")
    parser.add_argument("--fpscanner", type=Path, help="fpscanner's dist/fpScanner.es.js")
    parser.add_argument("--os", nargs="+", default=["windows", "macos", "linux"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.creepjs is None and args.fpscanner is None:
        parser.error("give --creepjs, --fpscanner or both")
    if args.creepjs is not None and not (args.creepjs / "creep.js").is_file():
        parser.error(f"--creepjs: no creep.js in {args.creepjs} (give CreepJS's docs/ dir)")
    if args.fpscanner is not None and not args.fpscanner.is_file():
        parser.error(f"--fpscanner: no such file: {args.fpscanner}")
    say: Callable[[str], None] = (lambda _: None) if args.json else print
    report: dict[str, Any] = {}
    made: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="vipb-lies-") as tmp:
        root = Path(tmp) / "data"
        initialize(root)
        rt = bootstrap(root, settings=Settings(data_dir=root, allow_private_targets=True))
        try:
            if args.creepjs is not None:
                say("CreepJS (lies, headless ratings, trash)")
                with _served(args.creepjs) as base:
                    report["creepjs"] = _sides(rt, f"{base}/index.html", CREEPJS, args.os,
                                               args.seed, say, made)
            if args.fpscanner is not None:
                say("fpscanner (fast bot detection)")
                page = Path(tmp) / "fpscanner"
                page.mkdir()
                (page / "fpScanner.es.js").write_bytes(args.fpscanner.read_bytes())
                (page / "index.html").write_text(FPSCANNER_PAGE)
                with _served(page) as base:
                    report["fpscanner"] = _sides(rt, f"{base}/index.html", FPSCANNER, args.os,
                                                 args.seed, say, made)
        finally:
            rt.close()
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
