"""Checks lie detectors run on the guard's noise, from their side, in real Chromium: each
probe runs in a bare context of the same browser and in guarded tabs, and what a detector
compares with known answers must read exactly as bare Chromium gives it, for every profile
seed, in the page and in a worker. (The checks of patched functions themselves run in every
realm of the coherence suite.)"""

from __future__ import annotations

from typing import Any

from scripts.fixtures.sites import Site
from service.runtime import Runtime
from tests.helpers import call, evaluate

# CreepJS's known-answer test: a 2x2 canvas, black, with a white arc over one corner. On so
# small a canvas every pixel is beside an edge; real browsers give one of a few known values.
TINY_ARC = """(canvas) => {
  canvas.width = 2; canvas.height = 2;
  const c = canvas.getContext("2d");
  c.fillStyle = "#000"; c.fillRect(0, 0, 2, 2);
  c.fillStyle = "#fff"; c.fillRect(2, 2, 1, 1);
  c.beginPath(); c.arc(0, 0, 2, 0, 1, true); c.closePath(); c.fill();
  return Array.from(c.getImageData(0, 0, 2, 2).data).join("");
}"""
PAGE_AND_WORKER_ARC = f"""(async () => {{
  const arc = {TINY_ARC};
  const code = "const arc = " + arc.toString() +
    "; postMessage(arc(new OffscreenCanvas(2, 2)));";
  const worker = new Worker(URL.createObjectURL(new Blob([code], {{type: "text/javascript"}})));
  const inWorker = await new Promise((resolve) => {{ worker.onmessage = (e) => resolve(e.data); }});
  return [arc(document.createElement("canvas")), inWorker];
}})()"""

# Audio as detectors read it: render, then read the result every way, in either order; and a
# buffer the page fills itself must read back exactly as written.
AUDIO = """(async () => {
  const render = async () => {
    const ctx = new OfflineAudioContext(1, 5000, 44100);
    const osc = ctx.createOscillator();
    osc.type = "triangle"; osc.frequency.value = 10000;
    const compressor = ctx.createDynamicsCompressor();
    osc.connect(compressor); compressor.connect(ctx.destination); osc.start(0);
    return ctx.startRendering();
  };
  const first = await render();
  const copied = new Float32Array(5000);
  first.copyFromChannel(copied, 0);  // copy first, then the data itself
  const data = first.getChannelData(0);
  let differ = 0;
  for (let i = 0; i < 5000; i++) if (copied[i] !== data[i]) differ++;
  const second = await render();
  const reads = Array.from(second.getChannelData(0).slice(4000, 4010));
  const viaEvent = await new Promise((resolve) => {
    const ctx = new OfflineAudioContext(1, 5000, 44100);
    const osc = ctx.createOscillator();
    osc.type = "triangle"; osc.frequency.value = 10000;
    osc.connect(ctx.destination); osc.start(0);
    ctx.oncomplete = (event) => {
      const copy = new Float32Array(5000);
      event.renderedBuffer.copyFromChannel(copy, 0);
      resolve([copy[1234], event.renderedBuffer.getChannelData(0)[1234]]);
    };
    ctx.startRendering();
  });
  const own = new AudioBuffer({length: 5000, sampleRate: 44100});
  own.copyToChannel(new Float32Array(5000).fill(0.25), 0);
  const made = new OfflineAudioContext(1, 100, 44100).createBuffer(1, 100, 44100);
  made.getChannelData(0).fill(0.5);
  const back = new Float32Array(100);
  made.copyFromChannel(back, 0);
  return {differ, reads, viaEvent, own: [...new Set(own.getChannelData(0))],
          made: [...new Set(back)]};
})()"""


def _bare(rt: Runtime, url: str, expression: str) -> Any:
    """``expression`` in a context of the same browser without any guard."""

    async def run() -> Any:
        context = await (await rt.engine.browser()).new_context()
        try:
            page = await context.new_page()
            await page.goto(url)
            return await page.evaluate(expression)
        finally:
            await context.close()

    return rt.engine.run(run())


def _guarded(rt: Runtime, url: str, expression: str, seed: int, os_name: str) -> Any:
    call(rt, "privacy:set-fingerprint", profile=f"p{seed}", seed=seed, os=[os_name])
    tab = call(rt, "tab:create", url=url, profile=f"p{seed}", proxy="direct")
    try:
        return evaluate(rt, tab["id"], expression)
    finally:
        call(rt, "tab:close", tab_id=tab["id"])


def test_a_tiny_canvas_reads_as_bare_chromium(browser_runtime: Runtime, site: Site) -> None:
    rt, url = browser_runtime, site.url("/frame.html")
    bare = _bare(rt, url, PAGE_AND_WORKER_ARC)
    assert bare[0] == bare[1] and bare[0].startswith("255255255255"), bare
    for seed, os_name in enumerate(["windows", "macos", "linux"] * 2, start=1):
        assert _guarded(rt, url, PAGE_AND_WORKER_ARC, seed, os_name) == bare, seed


def test_audio_noise_is_applied_once_and_only_to_what_was_rendered(
        browser_runtime: Runtime, site: Site) -> None:
    rt, url = browser_runtime, site.url("/frame.html")
    bare = _bare(rt, url, AUDIO)
    assert bare["differ"] == 0
    for seed in (1, 2, 3):
        seen = _guarded(rt, url, AUDIO, seed, "windows")
        assert seen["differ"] == 0, "every read of a rendering agrees"
        assert seen["viaEvent"][0] == seen["viaEvent"][1], "the event's buffer agrees too"
        assert (seen["own"], seen["made"]) == ([0.25], [0.5]), "the page's own data is exact"
        assert seen["reads"] != bare["reads"], "the rendering carries the profile's noise"
        for ours, theirs in zip(seen["reads"], bare["reads"], strict=True):
            assert abs(ours - theirs) <= abs(theirs) * 1e-5, "and the noise is tiny"
