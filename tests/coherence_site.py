# ruff: noqa: E501  (the probe is JavaScript, kept as sites really write it)
"""A local site that asks every kind of realm what it sees, for the privacy coherence suite.

The top page (on 127.0.0.1) opens a same-site iframe, a cross-site iframe (``localhost``, a
second loopback host name: another site, so Chromium gives it its own process), a dedicated
worker, a worker started by that worker (from a URL and from a blob), a blob worker and a
worker inside the cross-site iframe. Each realm runs the same probe (``realm.js``) and sends
its answer up to the top page, which resolves ``window.coherence`` with all of them. The server
keeps the headers of every request, so a test can hold the realms against what was sent.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from scripts.fixtures.servers import http_server
from scripts.fixtures.sites import CANVAS_DRAWING

# The probe every realm runs. Fingerprinting libraries read these same values; the lie checks
# are the ones such libraries use to spot patched functions (CreepJS's "lies").
REALM_JS = CANVAS_DRAWING + r"""
const FONT_PROBES = ["Arial", "Times New Roman", "Courier New", "Calibri", "Cambria", "Helvetica",
  "Helvetica Neue", "Times", "Courier", "Segoe UI", "Menlo", "DejaVu Sans", "Liberation Sans", "Ubuntu"];
self.realm = async (name) => {
  const nav = navigator;
  const out = {name, errors: []};
  const attempt = async (key, fn) => {
    try { out[key] = await fn(); } catch (e) { out.errors.push(key + ": " + e); }
  };
  out.userAgent = nav.userAgent;
  out.platform = nav.platform;
  out.cores = nav.hardwareConcurrency;
  out.memory = nav.deviceMemory;
  out.languages = Array.from(nav.languages);
  out.language = nav.language;
  out.touchPoints = nav.maxTouchPoints;
  out.webdriver = nav.webdriver;
  const intl = Intl.DateTimeFormat().resolvedOptions();
  out.timezone = intl.timeZone;
  out.locale = intl.locale;
  if (nav.userAgentData) {
    const d = nav.userAgentData;
    out.brands = d.brands.map(b => b.brand + "/" + b.version);
    out.mobile = d.mobile;
    out.uaPlatform = d.platform;
    await attempt("high", async () => {
      const h = await d.getHighEntropyValues(["architecture", "bitness", "model",
        "platformVersion", "fullVersionList", "uaFullVersion", "wow64", "formFactors"]);
      return {architecture: h.architecture, bitness: h.bitness, model: h.model,
        platformVersion: h.platformVersion, uaFullVersion: h.uaFullVersion, wow64: h.wow64,
        formFactors: h.formFactors,
        fullVersionList: h.fullVersionList.map(b => b.brand + "/" + b.version)};
    });
  }
  if (typeof screen !== "undefined") {
    out.screen = {width: screen.width, height: screen.height, availWidth: screen.availWidth,
      availHeight: screen.availHeight, colorDepth: screen.colorDepth,
      pixelDepth: screen.pixelDepth};
  }
  const isDoc = typeof document !== "undefined";
  const canvas = (w, h) => {
    if (!isDoc) return new OffscreenCanvas(w, h);
    const c = document.createElement("canvas"); c.width = w; c.height = h; return c;
  };
  await attempt("webgl", () => {
    const gl = canvas(64, 64).getContext("webgl");
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return {vendor: gl.getParameter(info.UNMASKED_VENDOR_WEBGL),
      renderer: gl.getParameter(info.UNMASKED_RENDERER_WEBGL)};
  });
  await attempt("webglLimits", () => {
    const gl = canvas(64, 64).getContext("webgl");
    const limits = {};
    for (const name of ["MAX_TEXTURE_SIZE", "MAX_RENDERBUFFER_SIZE", "MAX_VIEWPORT_DIMS",
      "MAX_VERTEX_UNIFORM_VECTORS", "MAX_FRAGMENT_UNIFORM_VECTORS", "MAX_VARYING_VECTORS",
      "MAX_TEXTURE_IMAGE_UNITS", "MAX_COMBINED_TEXTURE_IMAGE_UNITS", "ALIASED_POINT_SIZE_RANGE"]) {
      const v = gl.getParameter(gl[name]);
      limits[name] = typeof v === "number" ? v : Array.from(v);
    }
    const listed = gl.getSupportedExtensions();
    // what a page is told is there must be what it gets
    const given = listed.filter(e => gl.getExtension(e) !== null);
    const etc = gl.getExtension("WEBGL_compressed_texture_etc") !== null;
    return {limits, extensions: listed, given: given.length === listed.length, etc};
  });
  await attempt("fonts", () => {
    // fonts found as fingerprinting scripts find them: text measured against each fallback
    const ctx = canvas(8, 8).getContext("2d");
    const width = (family) => { ctx.font = "72px " + family; return ctx.measureText("mmmmmmmmmmlli10OW@").width; };
    const bases = ["monospace", "serif", "sans-serif"].map(b => [b, width(b)]);
    return FONT_PROBES.filter(f => bases.some(([b, w]) => width('"' + f + '", ' + b) !== w));
  });
  if (isDoc) {
    await attempt("voices", () => {
      const list = speechSynthesis.getVoices();
      const u = new SpeechSynthesisUtterance("hello");
      u.voice = list[0] || null;  // a listed voice is a voice an utterance takes
      return {count: list.length, defaults: list.filter(v => v.default).map(v => v.name),
        langs: [...new Set(list.map(v => v.lang))].length, local: list.filter(v => v.localService).length,
        names: list.slice(0, 3).map(v => v.name), taken: u.voice === (list[0] || null),
        isVoice: list.every(v => v instanceof SpeechSynthesisVoice && Object.prototype.toString.call(v) === "[object SpeechSynthesisVoice]")};
    });
    await attempt("devices", async () => {
      const list = await navigator.mediaDevices.enumerateDevices();
      let asked = "granted";
      try { (await navigator.mediaDevices.getUserMedia({audio: true})).getTracks().forEach(t => t.stop()); } catch (e) { asked = e.name; }
      return {kinds: list.map(d => d.kind), named: list.filter(d => d.label || d.deviceId).length,
        json: JSON.stringify(list[0] || null), inputs: list.filter(d => d instanceof InputDeviceInfo).length, asked};
    });
    out.window = {outer: [outerWidth, outerHeight], inner: [innerWidth, innerHeight],
      at: [screenX, screenY], touchEvents: "ontouchstart" in window};
  }
  const fnv = canvasBytesHash, draw = drawProbeCanvas;
  await attempt("canvas", async () => {
    const c = draw(canvas(160, 60));
    const read = fnv(c.getContext("2d").getImageData(0, 0, 160, 60).data);
    const blob = isDoc ? await new Promise(r => c.toBlob(r)) : await c.convertToBlob();
    const back = new OffscreenCanvas(160, 60);
    back.getContext("2d").drawImage(await createImageBitmap(blob), 0, 0);
    const exported = fnv(back.getContext("2d").getImageData(0, 0, 160, 60).data);
    return {read, exported};
  });
  if (isDoc) {  // Web Share, as Chrome on the profile's system has it (never without a gesture)
    await attempt("share", async () => {
      if (!("share" in navigator)) return null;
      const can = [navigator.canShare({url: location.href}), navigator.canShare({}),
        navigator.canShare({url: "mailto:x@example.com"})];
      const gesture = navigator.userActivation.isActive;  // (Playwright's evaluate gives one)
      try { await navigator.share({url: location.href}); return "shared"; } catch (e) {
        return {can, refused: e.name + ": " + e.message, gesture};
      }
    });
  }
  const fontSet = isDoc ? document.fonts : self.fonts;
  out.fontChecks = {};
  for (const f of ["Arial", "Calibri", "Helvetica Neue", "DejaVu Sans", "Segoe UI"]) {
    try { out.fontChecks[f] = fontSet.check("12px \"" + f + "\""); } catch (e) { out.fontChecks[f] = String(e); }
  }
  out.globals = Object.getOwnPropertyNames(self).filter(
    n => /vipb|playwright|__pw|cdc_|puppeteer|^__[0-9a-f]{8,}/i.test(n));
  // fpscanner's hasCDP: with the DevTools Runtime domain on, logging an Error runs the page's
  // Error.prepareStackTrace (and a "stack" getter of the error)
  const before = Error.prepareStackTrace;
  let read = false;
  Error.prepareStackTrace = function () { read = true; return before; };
  console.log(new Error(""));
  const trap = new Error("");
  Object.defineProperty(trap, "stack", {get() { read = true; return ""; }});
  console.debug(trap);
  Error.prepareStackTrace = before;
  out.cdp = read;
  out.lies = lies(isDoc);
  return out;
};

// The probe's own frame is the first line of a native error's stack: a patched function
// shows up as an extra frame above it.
function stackProbe(fn, self) {
  try { fn.call(self); } catch (e) { return String(e.stack).split("\n")[1] || ""; }
  return "no error";
}

function lies(isDoc) {
  const found = [];
  const native = (name) => "function " + name + "() { [native code] }";
  const G = self;
  const targets = [];
  const getter = (proto, key) => {
    const d = proto && Object.getOwnPropertyDescriptor(proto, key);
    if (d && d.get) targets.push(["get " + key, d.get, proto]);
  };
  const method = (proto, key) => {
    const d = proto && Object.getOwnPropertyDescriptor(proto, key);
    if (d && typeof d.value === "function") targets.push([key, d.value, proto]);
  };
  const NavP = (G.Navigator || G.WorkerNavigator).prototype;
  for (const k of ["platform", "hardwareConcurrency", "deviceMemory", "languages", "language",
    "maxTouchPoints", "webdriver", "userAgent"]) getter(NavP, k);
  if (G.NavigatorUAData) {
    getter(G.NavigatorUAData.prototype, "brands");
    method(G.NavigatorUAData.prototype, "getHighEntropyValues");
  }
  if (G.Screen) for (const k of ["colorDepth", "availWidth"]) getter(G.Screen.prototype, k);
  if (isDoc) for (const k of ["outerWidth", "outerHeight", "screenX"]) getter(G, k);
  if (G.SpeechSynthesisVoice) for (const k of ["name", "default"]) getter(G.SpeechSynthesisVoice.prototype, k);
  if (G.MediaDeviceInfo) getter(G.MediaDeviceInfo.prototype, "kind");
  method(G.SpeechSynthesis && G.SpeechSynthesis.prototype, "getVoices");
  method(G.MediaDevices && G.MediaDevices.prototype, "enumerateDevices");
  for (const k of ["share", "canShare"]) method(G.Navigator && G.Navigator.prototype, k);
  for (const k of ["log", "debug", "error", "table"]) method(console, k);
  for (const k of ["getParameter", "getExtension", "getSupportedExtensions"]) {
    method(G.WebGLRenderingContext && G.WebGLRenderingContext.prototype, k);
    method(G.WebGL2RenderingContext && G.WebGL2RenderingContext.prototype, k);
  }
  method(G.CanvasRenderingContext2D && G.CanvasRenderingContext2D.prototype, "getImageData");
  method(G.OffscreenCanvasRenderingContext2D && G.OffscreenCanvasRenderingContext2D.prototype, "getImageData");
  method(G.HTMLCanvasElement && G.HTMLCanvasElement.prototype, "toDataURL");
  method(G.OffscreenCanvas && G.OffscreenCanvas.prototype, "convertToBlob");
  method(G.AudioBuffer && G.AudioBuffer.prototype, "getChannelData");
  method(Function.prototype, "toString");
  const other = isDoc ? document.createElement("iframe") : null;
  if (other) { other.style.display = "none"; document.body.appendChild(other); }
  for (const [name, fn, proto] of targets) {
    const lie = (what) => found.push(name + ": " + what);
    const text = Function.prototype.toString.call(fn);
    if (text !== native(name)) lie("toString " + JSON.stringify(text.slice(0, 60)));
    if (fn.name !== name) lie("name " + fn.name);
    if ("prototype" in fn) lie("has prototype");
    const keys = Reflect.ownKeys(fn).join(",");
    if (keys !== "length,name") lie("own keys " + keys);
    try { new fn(); lie("constructible"); } catch (e) { if (!(e instanceof TypeError)) lie("new: " + e); }
    try { class X extends fn {} lie("extendable"); } catch (e) { if (!(e instanceof TypeError)) lie("extends: " + e); }
    const proto0 = Object.getPrototypeOf(fn);
    try {
      Object.setPrototypeOf(fn, Object.create(fn));
      lie("cyclic __proto__ accepted");
    } catch (e) {
      if (!(e instanceof TypeError)) lie("cyclic: " + e);
    } finally { Object.setPrototypeOf(fn, proto0); }
    try {
      Object.setPrototypeOf(fn, null);
      try { String(fn); lie("null proto converts"); } catch (e) { if (!(e instanceof TypeError)) lie("null: " + e); }
    } finally { Object.setPrototypeOf(fn, proto0); }
    try { Object.create(fn).toString(); lie("object toString"); } catch (e) { if (!(e instanceof TypeError)) lie("object toString: " + e); }
    if (name !== "toString") {
      const frame = stackProbe(fn, Object.create(null));
      if (frame !== "no error" && !/stackProbe/.test(frame)) lie("stack " + JSON.stringify(frame.trim().slice(0, 80)));
    }
    if (other && other.contentWindow) {
      const foreign = other.contentWindow.Function.prototype.toString.call(fn);
      if (foreign !== native(name)) lie("iframe toString " + JSON.stringify(foreign.slice(0, 60)));
    }
  }
  if (other) other.remove();
  // As CreepJS asks every function of the interfaces it reads, patched or not (Math and Date
  // too): an object made from the function, converted with toString, throws the native
  // TypeError whose first frame is the built-in's own, named by the receiver.
  const holders = [Math, JSON, Object, Reflect, Date.prototype, Function.prototype, String.prototype,
    Array.prototype, Intl.DateTimeFormat.prototype, G.Navigator && G.Navigator.prototype,
    G.WorkerNavigator && G.WorkerNavigator.prototype, G.NavigatorUAData && G.NavigatorUAData.prototype,
    G.Screen && G.Screen.prototype, G.HTMLCanvasElement && G.HTMLCanvasElement.prototype,
    G.CanvasRenderingContext2D && G.CanvasRenderingContext2D.prototype, G.OffscreenCanvas && G.OffscreenCanvas.prototype,
    G.OffscreenCanvasRenderingContext2D && G.OffscreenCanvasRenderingContext2D.prototype,
    G.WebGLRenderingContext && G.WebGLRenderingContext.prototype,
    G.WebGL2RenderingContext && G.WebGL2RenderingContext.prototype, G.AudioBuffer && G.AudioBuffer.prototype,
    G.AnalyserNode && G.AnalyserNode.prototype, G.OfflineAudioContext && G.OfflineAudioContext.prototype,
    G.OfflineAudioCompletionEvent && G.OfflineAudioCompletionEvent.prototype,
    G.MediaDevices && G.MediaDevices.prototype, G.SpeechSynthesis && G.SpeechSynthesis.prototype,
    G.Document && G.Document.prototype, G.Element && G.Element.prototype, G.Node && G.Node.prototype,
    G.Permissions && G.Permissions.prototype, G.ServiceWorkerContainer && G.ServiceWorkerContainer.prototype,
    isDoc ? G : null];
  const frameOf = (make, want) => {
    try { make(); return "no error"; } catch (e) {
      const line = String(e.stack).split("\n")[1] || "";
      return e instanceof TypeError && want.test(line) ? "" : line.trim().slice(0, 60);
    }
  };
  const seen = new Set();
  let scanned = 0;
  for (const holder of holders) {
    if (!holder) continue;
    for (const key of Object.getOwnPropertyNames(holder)) {
      const d = Object.getOwnPropertyDescriptor(holder, key);
      for (const fn of [d.value, d.get, d.set]) {
        if (typeof fn !== "function" || seen.has(fn) || key === "constructor") continue;
        seen.add(fn);
        scanned++;
        const plain = frameOf(() => Object.create(fn).toString(), /^\s+at (Async|Generator|AsyncGenerator)?Function\.toString \(<anonymous>\)$/);
        const proxied = frameOf(() => Object.create(new Proxy(fn, {})).toString(), /^\s+at Object\.toString \(<anonymous>\)$/);
        if (plain || proxied) found.push(key + ": object toString frame " + JSON.stringify(plain || proxied));
      }
    }
  }
  if (scanned < 100) found.push("only " + scanned + " functions scanned");
  return found;
}
"""

INDEX = """<!doctype html><html><head><title>coherence</title><meta charset="utf-8">
<script src="/coh/realm.js"></script></head><body>
<script>
const expected = ["page", "iframe", "iframe-worker", "cross-iframe", "cross-worker", "worker",
  "nested-worker", "nested-blob-worker", "blob-worker", "service-worker", "shared-worker",
  "blob-shared-worker"];
const answers = {};
window.coherence = new Promise(resolve => {
  const take = (data) => {
    answers[data.name] = data;
    if (expected.every(n => n in answers)) resolve(answers);
  };
  window.addEventListener("message", e => { if (e.data && e.data.name) take(e.data); });
  const w = new Worker("/coh/worker.js?name=worker&nest=1");
  w.onmessage = e => take(e.data);
  const code = 'importScripts("' + location.origin + '/coh/realm.js");' +
    'realm("blob-worker").then(r => postMessage(r));';
  const b = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  b.onmessage = e => take(e.data);
  realm("page").then(take);
  // a service worker (as Chrome, registration works) and shared workers, from a URL and a blob
  navigator.serviceWorker.register("/coh/sw.js").then(() => navigator.serviceWorker.ready)
    .then((reg) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (e) => take(e.data);
      reg.active.postMessage("probe", [channel.port2]);
    }).catch((e) => take({name: "service-worker", errors: ["register: " + e]}));
  const shared = new SharedWorker("/coh/shared.js?name=shared-worker");
  shared.port.onmessage = (e) => take(e.data);
  shared.onerror = () => take({name: "shared-worker", errors: ["shared worker failed"]});
  const sharedCode = 'importScripts("' + location.origin + '/coh/realm.js");' +
    'onconnect = (e) => realm("blob-shared-worker").then(r => e.ports[0].postMessage(r));';
  const blobShared = new SharedWorker(URL.createObjectURL(new Blob([sharedCode], {type: "text/javascript"})));
  blobShared.port.onmessage = (e) => take(e.data);
});
</script>
<iframe src="/coh/frame.html?name=iframe&worker=iframe-worker"></iframe>
<iframe src="http://localhost:__PORT__/coh/frame.html?name=cross-iframe&worker=cross-worker"></iframe>
</body></html>"""

FRAME = """<!doctype html><html><head><title>frame</title><meta charset="utf-8">
<script src="/coh/realm.js"></script></head><body>frame<script>
const q = new URLSearchParams(location.search);
realm(q.get("name")).then(r => parent.postMessage(r, "*"));
if (q.get("worker")) {
  const w = new Worker("/coh/worker.js?name=" + q.get("worker"));
  w.onmessage = e => parent.postMessage(e.data, "*");
}
</script></body></html>"""

WORKER = """importScripts("/coh/realm.js");
const q = new URL(self.location.href).searchParams;
realm(q.get("name")).then(r => postMessage(r));
if (q.get("nest")) {
  const n = new Worker("/coh/worker.js?name=nested-worker");
  n.onmessage = e => postMessage(e.data);
  const code = 'importScripts("' + self.location.origin + '/coh/realm.js");' +
    'realm("nested-blob-worker").then(r => postMessage(r));';
  const b = new Worker(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
  b.onmessage = e => postMessage(e.data);
}
"""


SERVICE_WORKER = """importScripts("/coh/realm.js");
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("message", (e) => { realm("service-worker").then(r => e.ports[0].postMessage(r)); });
"""

SHARED_WORKER = """importScripts("/coh/realm.js");
const name = new URL(self.location.href).searchParams.get("name");
onconnect = (e) => { realm(name).then(r => e.ports[0].postMessage(r)); };
"""


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server saw it."""

    host: str
    path: str
    headers: dict[str, str]


@dataclass
class CoherenceSite:
    """The running site: the top page's URL and every request it received."""

    port: int = 0
    requests: list[SeenRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The top page."""
        return f"http://127.0.0.1:{self.port}/coh/index.html"

    def seen(self) -> list[SeenRequest]:
        """The requests so far."""
        with self.lock:
            return list(self.requests)


class _Handler(BaseHTTPRequestHandler):
    site: CoherenceSite

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.site.lock:
            self.site.requests.append(SeenRequest(
                host=self.headers.get("Host", ""), path=parts.path + (
                    "?" + parts.query if parts.query else ""),
                headers={k.lower(): v for k, v in self.headers.items()}))
        pages = {"/coh/index.html": ("text/html", INDEX.replace("__PORT__",
                                                                str(self.site.port))),
                 "/coh/frame.html": ("text/html", FRAME),
                 "/coh/worker.js": ("text/javascript", WORKER),
                 "/coh/sw.js": ("text/javascript", SERVICE_WORKER),
                 "/coh/shared.js": ("text/javascript", SHARED_WORKER),
                 "/coh/realm.js": ("text/javascript", REALM_JS)}
        page = pages.get(parts.path)
        if page is None:
            self.send_error(404)
            return
        body = page[1].encode()
        self.send_response(200)
        self.send_header("Content-Type", page[0] + "; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # ask for the high-entropy hints too, as sites that read them do
        self.send_header("Accept-CH", "Sec-CH-UA-Platform-Version, Sec-CH-UA-Arch, "
                         "Sec-CH-UA-Full-Version-List, Sec-CH-UA-Model, Sec-CH-UA-Bitness")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def query(request: SeenRequest) -> dict[str, list[str]]:
    """The query parameters of a seen request."""
    return parse_qs(urlsplit(request.path).query)


@contextlib.contextmanager
def coherence_site() -> Iterator[CoherenceSite]:
    """Serve the coherence pages on 127.0.0.1 (random port; ``localhost`` reaches it too)."""
    site = CoherenceSite()
    with http_server(type("Handler", (_Handler,), {"site": site})) as base:
        site.port = int(base.rsplit(":", 1)[1])
        yield site
