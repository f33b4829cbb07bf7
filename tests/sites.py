"""A local web site for browser tests: probe pages (page, iframe, worker), a WebRTC page and a
tracker endpoint. Every request is logged so tests can prove what reached the server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.servers import http_server

PROBE = """
const probe = () => {
  const out = {
    platform: navigator.platform, hardwareConcurrency: navigator.hardwareConcurrency,
    deviceMemory: navigator.deviceMemory, languages: Array.from(navigator.languages),
    userAgent: navigator.userAgent,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    brands: navigator.userAgentData ? navigator.userAgentData.brands.map(b => b.brand + "/" + b.version) : null,
    mobile: navigator.userAgentData ? navigator.userAgentData.mobile : null,
    maxTouchPoints: navigator.maxTouchPoints,
  };
  try {
    const c = typeof document !== "undefined" ? document.createElement("canvas") : new OffscreenCanvas(64, 32);
    const gl = c.getContext("webgl");
    out.webglVendor = gl.getParameter(0x9245);
    out.webglRenderer = gl.getParameter(0x9246);
  } catch (e) { out.webglVendor = "error: " + e; }
  const c2 = typeof document !== "undefined" ? document.createElement("canvas") : new OffscreenCanvas(120, 40);
  c2.width = 120; c2.height = 40;
  const ctx = c2.getContext("2d");
  ctx.fillStyle = "#f60"; ctx.fillRect(5, 5, 100, 20);
  ctx.fillStyle = "#069"; ctx.font = "16px sans-serif"; ctx.fillText("vipb canvas", 8, 22);
  const data = ctx.getImageData(0, 0, 120, 40).data;
  let h = 2166136261;
  for (let i = 0; i < data.length; i++) { h ^= data[i]; h = Math.imul(h, 16777619) >>> 0; }
  out.canvasHash = h;
  out.toStringNative = Object.getOwnPropertyDescriptor(
    (typeof Navigator !== "undefined" ? Navigator : WorkerNavigator).prototype, "platform").get.toString();
  if (typeof screen !== "undefined") {
    out.screen = [screen.width, screen.height, screen.availWidth, screen.availHeight];
  }
  return out;
};
"""

# One drawing (a gradient and text) and one hash for every canvas probe, so every probe reads
# the same pixels.
CANVAS_DRAWING = """
function canvasBytesHash(bytes) {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 16777619) >>> 0; }
  return h;
}
function drawProbeCanvas(c) {
  const ctx = c.getContext("2d");
  const g = ctx.createLinearGradient(0, 0, c.width, 0);
  g.addColorStop(0, "#f60"); g.addColorStop(1, "#069");
  ctx.fillStyle = g; ctx.fillRect(0, 0, c.width, c.height / 2);
  ctx.fillStyle = "#123"; ctx.font = "18px sans-serif"; ctx.fillText("vipb canvas 1234", 6, 48);
  return c;
}
"""

CANVAS_PROBE = CANVAS_DRAWING + """
const canvasProbe = async () => {
  const isDoc = typeof document !== "undefined";
  const make = (w, h) => {
    if (!isDoc) return new OffscreenCanvas(w, h);
    const c = document.createElement("canvas"); c.width = w; c.height = h; return c;
  };
  const fnv = canvasBytesHash, draw = drawProbeCanvas;
  const blobHash = async (blob) => fnv(new Uint8Array(await blob.arrayBuffer()));
  const fill = (c) => {
    const ctx = c.getContext("2d"); ctx.fillStyle = "rgb(10,120,200)";
    ctx.fillRect(0, 0, c.width, c.height); return c;
  };
  const altered = (data) => {
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== 10 || data[i + 1] !== 120 || data[i + 2] !== 200 || data[i + 3] !== 255) n++;
    }
    return n;
  };
  const out = {errors: {}};
  const attempt = async (name, fn) => {
    try { out[name] = await fn(); } catch (e) { out.errors[name] = String(e); }
  };
  const drawing = draw(make(200, 60));
  await attempt("getImageData", () => fnv(drawing.getContext("2d").getImageData(0, 0, 200, 60).data));
  if (isDoc) {
    await attempt("toDataURL", () => fnv(new TextEncoder().encode(drawing.toDataURL())));
    await attempt("toBlob", () => new Promise((resolve, reject) =>
      drawing.toBlob(b => b ? blobHash(b).then(resolve) : reject("no blob"))));
    await attempt("emptyToDataURL", () => make(300, 150).toDataURL().length);
  }
  await attempt("convertToBlob", async () =>
    blobHash(await draw(new OffscreenCanvas(200, 60)).convertToBlob()));
  await attempt("emptyConvertToBlob", async () =>
    (await new OffscreenCanvas(300, 150).convertToBlob()).size);
  // an edge: left half one colour, right half another; every export as base64 PNG
  const edge = make(50, 20);
  const ectx = edge.getContext("2d");
  ectx.fillStyle = "rgb(10,120,200)"; ectx.fillRect(0, 0, 25, 20);
  ectx.fillStyle = "rgb(200,40,10)"; ectx.fillRect(25, 0, 25, 20);
  const b64 = async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  };
  if (isDoc) {
    await attempt("edgeDataURL", () => edge.toDataURL().split(",")[1]);
    await attempt("edgeBlob", async () => b64(await new Promise(r => edge.toBlob(r))));
  }
  const offEdge = new OffscreenCanvas(50, 20);
  offEdge.getContext("2d").drawImage(edge, 0, 0);
  await attempt("edgeConvert", async () => b64(await offEdge.convertToBlob()));
  const flat = fill(make(50, 50));
  await attempt("flatRead", () => altered(flat.getContext("2d").getImageData(0, 0, 50, 50).data));
  await attempt("flatExport", async () => {
    const blob = isDoc ? await new Promise(r => flat.toBlob(r)) : await flat.convertToBlob();
    const c = new OffscreenCanvas(50, 50);
    const ctx = c.getContext("2d");
    ctx.drawImage(await createImageBitmap(blob), 0, 0);
    return altered(ctx.getImageData(0, 0, 50, 50).data);
  });
  return out;
};
"""

PAGES = {
    "/probe.html": ("text/html", f"""<!doctype html><html><head><title>probe</title>
<script>{PROBE}
window.pageProbe = probe();
window.workerProbe = new Promise(resolve => {{
  const w = new Worker("/probe-worker.js"); w.onmessage = e => resolve(e.data);
}});
</script></head><body><iframe id="frame" src="/frame.html"></iframe></body></html>"""),
    "/frame.html": ("text/html", f"""<!doctype html><html><head><title>frame</title>
<script>{PROBE} window.frameProbe = probe();</script></head><body>frame</body></html>"""),
    "/probe-worker.js": ("application/javascript", f"{PROBE}\npostMessage(probe());"),
    "/webrtc.html": ("text/html", """<!doctype html><html><head><title>webrtc</title><script>
window.gather = async () => {
  if (typeof RTCPeerConnection === "undefined") return {available: false, candidates: []};
  const pc = new RTCPeerConnection({iceServers: []});
  pc.createDataChannel("probe");
  const candidates = [];
  const done = new Promise(resolve => {
    pc.onicecandidate = e => { if (e.candidate) candidates.push(e.candidate.candidate); else resolve(); };
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") resolve(); };
  });
  await pc.setLocalDescription(await pc.createOffer());
  await done;
  const sdp = pc.localDescription.sdp;
  pc.close();
  return {available: true, candidates, sdp};
};
</script></head><body>webrtc</body></html>"""),
    "/trackers.html": ("text/html", """<!doctype html><html><head><title>trackers</title>
<script src="/vipb-test-tracker/t.js"></script>
<script src="/app.js"></script></head>
<body><img src="/vipb-test-tracker/pixel.gif"></body></html>"""),
    "/canvas.html": ("text/html", f"""<!doctype html><html><head><title>canvas</title>
<script>{CANVAS_PROBE}
window.canvasPage = canvasProbe();
window.canvasWorker = new Promise(resolve => {{
  const w = new Worker("/canvas-worker.js"); w.onmessage = e => resolve(e.data);
}});
</script></head><body>canvas</body></html>"""),
    "/canvas-worker.js": ("application/javascript",
                          f"{CANVAS_PROBE}\ncanvasProbe().then(r => postMessage(r));"),
    "/app.js": ("application/javascript", "window.appLoaded = true;"),
    "/filters.txt": ("text/plain", "! served list\n/app.js$script\n"),
    "/sw.js": ("application/javascript", "self.addEventListener('fetch', () => {});"),
    # a shared worker that reports its platform and whether it could fetch a tracker
    "/shared-worker.js": ("application/javascript", """onconnect = async (e) => {
  let tracker;
  try { await fetch("/vipb-test-tracker/shared.gif"); tracker = "loaded"; }
  catch (error) { tracker = "blocked"; }
  e.ports[0].postMessage([navigator.platform, navigator.userAgent, tracker]);
};"""),
    "/vipb-test-tracker/t.js": ("application/javascript", "window.trackerLoaded = true;"),
    "/vipb-test-tracker/pixel.gif": ("image/gif", "GIF89a"),
    "/vipb-test-tracker/shared.gif": ("image/gif", "GIF89a"),
}


@dataclass
class Site:
    """A running site: its base URL and the paths it was asked for."""

    base: str
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        """An absolute URL on this site."""
        return self.base + path


class _Handler(BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.site.requests.append(path)
        page = PAGES.get(path)
        if page is None:
            self.send_error(404)
            return
        body = page[1].encode()
        self.send_response(200)
        self.send_header("Content-Type", page[0])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def local_site() -> Iterator[Site]:
    """Serve the pages on 127.0.0.1 (random port)."""
    site = Site(base="")
    with http_server(type("Handler", (_Handler,), {"site": site})) as base:
        site.base = base
        yield site
