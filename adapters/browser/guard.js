// vipb privacy guard: runs before any page script, in pages, iframes and dedicated workers.
// __VIPB_CONFIG__ is replaced by the profile's values (JSON). Every patched function keeps
// the native function's name, length and Function.prototype.toString text.
(function vipbGuard(cfg) {
  const G = globalThis;
  if (G.__vipbGuard) return;
  Object.defineProperty(G, "__vipbGuard", { value: true, enumerable: false });

  const nativeToString = Function.prototype.toString;
  // This very script, for workers (taken before toString is patched).
  const selfSource = "(" + nativeToString.call(vipbGuard) + ")(" + JSON.stringify(cfg) + ");\n";
  const report = cfg.binding && typeof G[cfg.binding] === "function" ? G[cfg.binding] : null;
  if (cfg.binding && cfg.binding in G) {
    try { delete G[cfg.binding]; } catch (e) { /* keep going */ }
  }
  const masks = new WeakMap();
  const toStringProxy = new Proxy(nativeToString, {
    apply(target, self, args) {
      const mask = masks.get(self);
      return mask !== undefined ? mask : Reflect.apply(target, self, args);
    },
  });
  masks.set(toStringProxy, nativeToString.call(nativeToString));
  Object.defineProperty(Function.prototype, "toString", {
    value: toStringProxy, writable: true, configurable: true, enumerable: false,
  });

  // Wrap a native function: same name/length, native toString, receiver checks kept.
  const wrap = (original, apply) => {
    const p = new Proxy(original, { apply });
    masks.set(p, nativeToString.call(original));
    return p;
  };
  const patchMethod = (proto, name, make) => {
    if (!proto) return;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (!d || typeof d.value !== "function") return;
    Object.defineProperty(proto, name, { ...d, value: wrap(d.value, make(d.value)) });
  };
  // Replace a getter's value; the native getter still runs first (it throws on a wrong receiver).
  const patchGetter = (proto, name, value) => {
    if (!proto) return;
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (!d || !d.get) return;
    const get = wrap(d.get, (target, self, args) => {
      Reflect.apply(target, self, args);
      return typeof value === "function" ? value() : value;
    });
    Object.defineProperty(proto, name, { ...d, get });
  };

  // --- seeded noise: same profile + same input => same output -------------------------------
  const mix = (a) => {
    let t = (a + 0x6d2b79f5) | 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const seed = cfg.noiseSeed >>> 0;
  // Canvas "farbling": only pixels that differ from a neighbour change (edges, text,
  // gradients), so flat areas read back exactly as drawn; which pixels change, and how,
  // depends on the profile seed and the pixel's canvas coordinates, so one drawing reads the
  // same through every export path and in every realm. Each read is changed once.
  const farble = (data, width, x0, y0) => {
    if (!width || data.length < 4 || data.byteOffset % 4) return;
    const height = ((data.length >> 2) / width) | 0;
    // whole pixels compared at once, against a copy taken before any change
    const px = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2).slice();
    for (let y = 0, k = 0; y < height; y++) {
      for (let x = 0; x < width; x++, k++) {
        const p = px[k];
        if (data[k * 4 + 3] === 0) continue; // transparent stays transparent: blank stays blank
        if (!((x > 0 && px[k - 1] !== p) || (x + 1 < width && px[k + 1] !== p) ||
              (y > 0 && px[k - width] !== p) || (y + 1 < height && px[k + width] !== p))) {
          continue;
        }
        const h = mix(seed ^ Math.imul(x + x0 + 1, 0x9e3779b1) ^ Math.imul(y + y0 + 1, 0x85ebca6b));
        if ((h & 3) !== 0) continue;
        const c = k * 4 + ((h >>> 2) % 3);
        data[c] = data[c] ^ 1;
      }
    }
  };

  // --- navigator -------------------------------------------------------------------------------
  const NavProto = G.Navigator ? G.Navigator.prototype : G.WorkerNavigator && G.WorkerNavigator.prototype;
  const languages = Object.freeze(cfg.languages.slice());
  patchGetter(NavProto, "platform", cfg.platform);
  patchGetter(NavProto, "hardwareConcurrency", cfg.hardwareConcurrency);
  patchGetter(NavProto, "deviceMemory", cfg.deviceMemory);
  patchGetter(NavProto, "languages", () => languages);
  patchGetter(NavProto, "language", cfg.languages[0]);
  patchGetter(NavProto, "maxTouchPoints", cfg.maxTouchPoints);
  patchGetter(NavProto, "webdriver", false);

  if (G.NavigatorUAData) {
    const UA = G.NavigatorUAData.prototype;
    const brands = () => cfg.brands.map(([brand, version]) => ({ brand, version }));
    patchGetter(UA, "brands", () => Object.freeze(brands()));
    patchGetter(UA, "platform", cfg.uaPlatform);
    patchGetter(UA, "mobile", cfg.mobile);
    const high = {
      architecture: cfg.architecture, bitness: cfg.bitness, model: cfg.model, mobile: cfg.mobile,
      platform: cfg.uaPlatform, platformVersion: cfg.uaPlatformVersion,
      uaFullVersion: cfg.fullVersion, wow64: false,
      formFactors: [cfg.mobile ? "Mobile" : "Desktop"],
    };
    patchMethod(UA, "getHighEntropyValues", (orig) => (target, self, args) =>
      Reflect.apply(target, self, args).then((real) => {
        const out = { brands: brands(), mobile: cfg.mobile, platform: cfg.uaPlatform };
        const hints = Array.isArray(args[0]) ? args[0] : [];
        for (const hint of hints) {
          if (hint === "fullVersionList") {
            out.fullVersionList = cfg.fullVersionList.map(([brand, version]) => ({ brand, version }));
          } else if (hint in high) out[hint] = high[hint];
          else if (hint in real) out[hint] = real[hint];
        }
        return out;
      }));
    patchMethod(UA, "toJSON", () => (target, self, args) => {
      Reflect.apply(target, self, args);
      return { brands: brands(), mobile: cfg.mobile, platform: cfg.uaPlatform };
    });
  }

  // --- screen (windows only; Playwright's screen option sets width/height) --------------------
  if (G.Screen) {
    const S = G.Screen.prototype;
    patchGetter(S, "availWidth", cfg.screen.availWidth);
    patchGetter(S, "availHeight", cfg.screen.availHeight);
    patchGetter(S, "colorDepth", cfg.screen.colorDepth);
    patchGetter(S, "pixelDepth", cfg.screen.colorDepth);
  }

  // --- WebGL vendor/renderer -------------------------------------------------------------------
  for (const ctx of [G.WebGLRenderingContext, G.WebGL2RenderingContext]) {
    if (!ctx) continue;
    patchMethod(ctx.prototype, "getParameter", () => (target, self, args) => {
      if (args[0] === 0x9245) { Reflect.apply(target, self, args); return cfg.webglVendor; }
      if (args[0] === 0x9246) { Reflect.apply(target, self, args); return cfg.webglRenderer; }
      return Reflect.apply(target, self, args);
    });
  }

  // --- canvas noise ----------------------------------------------------------------------------
  const C2D = G.CanvasRenderingContext2D && G.CanvasRenderingContext2D.prototype;
  const OC2D = G.OffscreenCanvasRenderingContext2D && G.OffscreenCanvasRenderingContext2D.prototype;
  // the natives, taken before they are patched (the copies below read with them: noise once)
  const rawOffscreenGet = OC2D && OC2D.getImageData;
  for (const proto of [C2D, OC2D]) {
    patchMethod(proto, "getImageData", () => (target, self, args) => {
      const image = Reflect.apply(target, self, args);
      farble(image.data, image.width, args[0] | 0, args[1] | 0);
      return image;
    });
  }
  // The canvas as its export must look: a farbled copy, read with the native getImageData.
  const noisyCopy = (canvas) => {
    if (!canvas.width || !canvas.height || !G.OffscreenCanvas || !rawOffscreenGet) return null;
    const copy = new G.OffscreenCanvas(canvas.width, canvas.height);
    const ctx = copy.getContext("2d");
    ctx.drawImage(canvas, 0, 0);
    const image = Reflect.apply(rawOffscreenGet, ctx, [0, 0, canvas.width, canvas.height]);
    farble(image.data, image.width, 0, 0);
    ctx.putImageData(image, 0, 0);
    return copy;
  };
  if (G.HTMLCanvasElement) {
    const H = G.HTMLCanvasElement.prototype;
    const drawBack = (canvas) => {
      const copy = noisyCopy(canvas);
      if (!copy) return canvas;
      const out = canvas.ownerDocument.createElement("canvas");
      out.width = canvas.width;
      out.height = canvas.height;
      out.getContext("2d").drawImage(copy, 0, 0);
      return out;
    };
    patchMethod(H, "toDataURL", () => (target, self, args) =>
      Reflect.apply(target, drawBack(self), args));
    patchMethod(H, "toBlob", () => (target, self, args) =>
      Reflect.apply(target, drawBack(self), args));
  }
  if (G.OffscreenCanvas) {
    patchMethod(G.OffscreenCanvas.prototype, "convertToBlob", () => (target, self, args) =>
      Reflect.apply(target, noisyCopy(self) || self, args));
  }

  // --- audio noise: relative, tiny, stable ------------------------------------------------------
  const seen = new WeakSet();
  const noiseSamples = (array) => {
    if (seen.has(array)) return array;
    seen.add(array);
    for (let i = 0; i < array.length; i++) {
      const h = mix(seed ^ Math.imul(i + 7, 0x85ebca6b));
      array[i] = array[i] * (1 + ((h / 4294967296) * 2 - 1) * 2e-6);
    }
    return array;
  };
  if (G.AudioBuffer) {
    patchMethod(G.AudioBuffer.prototype, "getChannelData", () => (target, self, args) =>
      noiseSamples(Reflect.apply(target, self, args)));
  }
  if (G.AnalyserNode) {
    patchMethod(G.AnalyserNode.prototype, "getFloatFrequencyData", () => (target, self, args) => {
      const result = Reflect.apply(target, self, args);
      const array = args[0];
      for (let i = 0; array && i < array.length; i++) {
        const h = mix(seed ^ Math.imul(i + 13, 0xc2b2ae35));
        array[i] = array[i] * (1 + ((h / 4294967296) * 2 - 1) * 2e-6);
      }
      return result;
    });
  }

  // --- fonts: only the profile's families (plus generic ones) are reported as available --------
  const generic = new Set(["serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui",
    "ui-serif", "ui-sans-serif", "ui-monospace", "ui-rounded", "emoji", "math", "fangsong"]);
  const fonts = new Set(cfg.fonts.map((f) => f.toLowerCase()));
  const families = (spec) => {
    const m = /(?:^|\s)((?:"[^"]*"|'[^']*'|[^,\s"']+)(?:\s*,\s*(?:"[^"]*"|'[^']*'|[^,"']+))*)\s*$/.exec(String(spec));
    if (!m) return [];
    return m[1].split(",").map((f) => f.trim().replace(/^["']|["']$/g, "").toLowerCase());
  };
  // FontFaceSet is not a global in Chromium: reach its prototype through the instance.
  const fontSet = (G.document && G.document.fonts) || G.fonts;
  if (fontSet) {
    patchMethod(Object.getPrototypeOf(fontSet), "check", () => (target, self, args) => {
      const real = Reflect.apply(target, self, args);
      const named = families(args[0]).filter((f) => !generic.has(f));
      return real && named.every((f) => fonts.has(f));
    });
  }

  // --- WebRTC: "block" removes peer connections; "proxied" relies on the launch policy ---------
  if (cfg.webrtc === "block") {
    for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel"]) {
      if (name in G) {
        try { delete G[name]; } catch (e) { /* non-configurable: leave it */ }
      }
    }
  }

  // --- dedicated workers: the guard runs first in every worker this window starts ----------
  // http(s) worker scripts are reported to the host, which prefixes the guard to the script
  // as it is served (the worker keeps its own URL, so relative imports still work); blob: and
  // data: workers are rebuilt here with the guard in front.
  if (G.Worker && G.document) {
    const NativeWorker = G.Worker;
    const hooked = new Proxy(NativeWorker, {
      construct(target, args, newTarget) {
        try {
          const url = new URL(String(args[0]), G.location.href);
          if (url.protocol === "blob:" || url.protocol === "data:") {
            const xhr = new XMLHttpRequest();
            xhr.open("GET", url.href, false);
            xhr.send();
            const blob = new Blob([selfSource + xhr.responseText], { type: "text/javascript" });
            args = [URL.createObjectURL(blob), ...Array.prototype.slice.call(args, 1)];
          } else if (report) {
            report(url.href);
          }
        } catch (e) { /* fall through to the native constructor */ }
        return Reflect.construct(target, args, newTarget);
      },
    });
    masks.set(hooked, nativeToString.call(NativeWorker));
    Object.defineProperty(G, "Worker", {
      value: hooked, writable: true, configurable: true, enumerable: false,
    });
  }

  // --- service workers: outside any tab's guard and proxy bookkeeping, so never registered --
  if (G.ServiceWorkerContainer) {
    patchMethod(G.ServiceWorkerContainer.prototype, "register", () => (target, self, args) =>
      Promise.reject(new DOMException(
        "Failed to register a ServiceWorker: The operation is insecure.", "SecurityError")));
  }

  // --- SharedWorker: its global cannot be patched (no debugger attach), so it is refused -----
  if (G.SharedWorker && cfg.blockSharedWorkers) {
    const SW = G.SharedWorker;
    const refused = new Proxy(SW, {
      construct() {
        throw new DOMException("SharedWorker is disabled by the privacy profile", "SecurityError");
      },
    });
    masks.set(refused, nativeToString.call(SW));
    Object.defineProperty(G, "SharedWorker", {
      value: refused, writable: true, configurable: true, enumerable: false,
    });
  }
})(__VIPB_CONFIG__);
