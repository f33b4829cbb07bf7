// vipb privacy guard: runs before any page script, in pages, iframes and dedicated workers.
// __VIPB_CONFIG__ is replaced by the profile's values (JSON). Every patched function keeps
// the native function's name, length, shape and Function.prototype.toString text, and
// leaves nothing on the global object.
(function vipbGuard(cfg) {
  "use strict";
  const G = globalThis;
  const apply = Reflect.apply, construct = Reflect.construct, define = Object.defineProperty;
  const describe = Object.getOwnPropertyDescriptor, protoOf = Object.getPrototypeOf;
  const nativeToString = Function.prototype.toString;
  const wmGet = WeakMap.prototype.get, wmSet = WeakMap.prototype.set;
  // Guarded realms know each other by the tab's secret token: our toString, called with it as
  // the receiver, answers with the masks; the native one throws. So a realm is patched once,
  // and same-origin realms (a page and its iframes) share one set of masks, so each realm's
  // toString tells the other's patched functions as native. No global marks a realm.
  const ask = (toString) => {
    try { return apply(toString, cfg.token, []); } catch (e) { return undefined; }
  };
  if (typeof ask(nativeToString) === "object") return;
  let masks;
  for (const w of [G.parent, G.opener, G.top]) {
    try {
      const found = w && w !== G ? ask(w.Function.prototype.toString) : undefined;
      if (typeof found === "object") { masks = found; break; }
    } catch (e) { /* another origin: its functions are out of this realm's reach anyway */ }
  }
  masks = masks || new WeakMap();
  const mask = (fn, original) => {
    apply(wmSet, masks, [fn, apply(nativeToString, original, [])]);
    return fn;
  };
  // This very script, for blob workers (taken before toString is patched).
  const selfSource = "(" + apply(nativeToString, vipbGuard, []) + ")(" +
    JSON.stringify(cfg) + ");\n";
  // A native function throwing inside a patched one would show the patch as extra frames
  // of the stack: the stack is taken again from the patched function's caller, so it reads
  // as the native's would. A built-in's own frame on top (V8 shows C++ built-ins, such as
  // "at Function.toString (<anonymous>)", named by the receiver) is kept: it has no line and
  // column, which every frame of a script has. Only string methods taken now are used (a
  // page may replace Array and RegExp methods to watch who calls them); with a page's own
  // Error.prepareStackTrace the stack is not read here (that would run the page's code).
  const capture = Error.captureStackTrace, ErrorCtor = Error;
  const split = String.prototype.split, startsWith = String.prototype.startsWith;
  const endsWith = String.prototype.endsWith, sliceText = String.prototype.slice;
  const FRAME = "    at ", BUILTIN = " (<anonymous>)";
  const frames = (text) => {  // [its lines, the index of the first frame line]
    const lines = apply(split, text, ["\n"]);
    let i = 0;
    while (i < lines.length && !apply(startsWith, lines[i], [FRAME])) i++;
    return [lines, i];
  };
  const hide = (error, fn) => {
    if (error === null || typeof error !== "object") return error;
    try {
      // (V8 formats natively unless Error.prepareStackTrace holds a function)
      const custom = describe(ErrorCtor, "prepareStackTrace");
      const readable = custom === undefined ||
        ("value" in custom && typeof custom.value !== "function");
      const builtins = [];
      const before = readable ? error.stack : undefined;
      if (typeof before === "string") {
        const [lines, first] = frames(before);
        for (let i = first; i < lines.length && apply(endsWith, lines[i], [BUILTIN]); i++) {
          builtins[builtins.length] = lines[i];
        }
      }
      capture(error, fn);
      if (builtins.length) {
        const [lines, first] = frames(error.stack);
        const d = describe(ErrorCtor, "stackTraceLimit");
        const limit = d && typeof d.value === "number" ? d.value : Infinity;
        let text = "";
        for (let i = 0; i < first; i++) text += lines[i] + "\n";
        for (let i = 0; i < builtins.length; i++) text += builtins[i] + "\n";
        for (let i = first; i < lines.length && i - first + builtins.length < limit; i++) {
          text += lines[i] + "\n";
        }
        error.stack = apply(sliceText, text, [0, -1]);
      }
    } catch (e) { /* frozen, or a stack of another shape: leave it */ }
    return error;
  };

  // Patched functions are ordinary methods (no Proxy): no prototype, not constructible, the
  // native's name and length, and the native's text from every guarded realm's toString.
  const toString = { toString() {
    if (this === cfg.token) return masks;
    const text = apply(wmGet, masks, [this]);
    if (text !== undefined) return text;
    try { return apply(nativeToString, this, arguments); } catch (e) { throw hide(e, toString); }
  } }.toString;
  mask(toString, nativeToString);
  define(Function.prototype, "toString", {
    value: toString, writable: true, configurable: true, enumerable: false,
  });
  // ``fn`` with ``original``'s length and text
  const asNative = (fn, original) => {
    define(fn, "length", { value: original.length, configurable: true });
    return mask(fn, original);
  };
  const patchMethod = (proto, name, make) => {
    if (!proto) return;
    const d = describe(proto, name);
    if (!d || typeof d.value !== "function") return;
    const body = make(d.value);
    const fn = { [name](...args) {
      try { return body(d.value, this, args); } catch (e) { throw hide(e, fn); }
    } }[name];
    define(proto, name, { ...d, value: asNative(fn, d.value) });
  };
  // Replace a getter's value; the native getter still runs first (it throws on a wrong receiver).
  const patchGetter = (proto, name, value) => {
    if (!proto) return;
    const d = describe(proto, name);
    if (!d || !d.get) return;
    const native = d.get;
    const get = describe({ get [name]() {
      try { apply(native, this, []); } catch (e) { throw hide(e, get); }
      return typeof value === "function" ? value() : value;
    } }, name).get;
    define(proto, name, { ...d, get: mask(get, native) });
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
  // Service and shared workers start with Chromium's own user agent (no tab's override
  // reaches them before they run); everywhere else the override already says the profile's.
  const uaGetter = NavProto && describe(NavProto, "userAgent");
  if (uaGetter && uaGetter.get && apply(uaGetter.get, G.navigator, []) !== cfg.userAgent) {
    patchGetter(NavProto, "userAgent", cfg.userAgent);
    patchGetter(NavProto, "appVersion", cfg.userAgent.replace(/^Mozilla\//, ""));
  }

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
      apply(target, self, args).then((real) => {
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
      apply(target, self, args);
      return { brands: brands(), mobile: cfg.mobile, platform: cfg.uaPlatform };
    });
  }

  // --- window: a maximised browser window, its bars above the page ---------------------------
  if (cfg.outer && describe(G, "outerWidth")) {
    patchGetter(G, "outerWidth", cfg.outer.width);
    patchGetter(G, "outerHeight", cfg.outer.height);
    for (const name of ["screenX", "screenY", "screenLeft", "screenTop"]) patchGetter(G, name, 0);
  }

  // --- screen (windows only). Playwright's screen option sets width/height in the page, but
  // an out-of-process iframe cannot take device metrics (CDP: top-level targets only).
  if (G.Screen) {
    const S = G.Screen.prototype;
    patchGetter(S, "width", cfg.screen.width);
    patchGetter(S, "height", cfg.screen.height);
    patchGetter(S, "availWidth", cfg.screen.availWidth);
    patchGetter(S, "availHeight", cfg.screen.availHeight);
    patchGetter(S, "colorDepth", cfg.screen.colorDepth);
    patchGetter(S, "pixelDepth", cfg.screen.colorDepth);
  }

  // --- WebGL: the claimed GPU's vendor, renderer, its backend's limits and extensions ------
  const missing = new Set(cfg.webglMissing.map((name) => name.toLowerCase()));
  for (const ctx of [G.WebGLRenderingContext, G.WebGL2RenderingContext]) {
    if (!ctx) continue;
    const limits = new Map();
    for (const [name, value] of Object.entries(cfg.webglLimits)) {
      if (typeof ctx[name] === "number") limits.set(ctx[name], value);
    }
    patchMethod(ctx.prototype, "getParameter", () => (target, self, args) => {
      const real = apply(target, self, args);  // the native's checks and errors first
      if (args[0] === 0x9245) return cfg.webglVendor;
      if (args[0] === 0x9246) return cfg.webglRenderer;
      if (real === null || !limits.has(args[0])) return real;
      const value = limits.get(args[0]);
      // ranges and dimensions come back as a fresh typed array of the native's own type
      return typeof value === "number" ? value : new real.constructor(value);
    });
    if (missing.size) {
      const supported = ctx.prototype.getSupportedExtensions;  // the native, for its checks
      patchMethod(ctx.prototype, "getSupportedExtensions", () => (target, self, args) => {
        const real = apply(target, self, args);
        return real && real.filter((name) => !missing.has(name.toLowerCase()));
      });
      // extension names match without case; an absent one is null, as it is natively
      patchMethod(ctx.prototype, "getExtension", () => (target, self, args) => {
        if (!args.length || !missing.has(String(args[0]).toLowerCase())) {
          return apply(target, self, args);
        }
        apply(supported, self, []);  // a wrong receiver throws as the native would
        return null;
      });
    }
  }

  // --- canvas noise ----------------------------------------------------------------------------
  const C2D = G.CanvasRenderingContext2D && G.CanvasRenderingContext2D.prototype;
  const OC2D = G.OffscreenCanvasRenderingContext2D && G.OffscreenCanvasRenderingContext2D.prototype;
  // the natives, taken before they are patched (the copies below read with them: noise once)
  const rawOffscreenGet = OC2D && OC2D.getImageData;
  // A canvas narrower or lower than this is never changed: drawings that identify a device
  // need room (text, emoji, curves), while tiny ones are the known-answer tests lie detectors
  // draw (CreepJS compares a 2x2 arc with the values real browsers give; on so small a
  // canvas every pixel is beside an edge, so farbling would change it).
  const NOISE_MIN_SIDE = 16;
  const tiny = (canvas) => !canvas || canvas.width < NOISE_MIN_SIDE ||
    canvas.height < NOISE_MIN_SIDE;
  for (const proto of [C2D, OC2D]) {
    const canvasOf = proto && describe(proto, "canvas");
    patchMethod(proto, "getImageData", () => (target, self, args) => {
      const image = apply(target, self, args);
      if (!(canvasOf && canvasOf.get && tiny(apply(canvasOf.get, self, [])))) {
        farble(image.data, image.width, args[0] | 0, args[1] | 0);
      }
      return image;
    });
  }
  // The canvas as its export must look: a farbled copy, read with the native getImageData.
  const noisyCopy = (canvas) => {
    if (tiny(canvas) || !G.OffscreenCanvas || !rawOffscreenGet) return null;
    const copy = new G.OffscreenCanvas(canvas.width, canvas.height);
    const ctx = copy.getContext("2d");
    ctx.drawImage(canvas, 0, 0);
    const image = apply(rawOffscreenGet, ctx, [0, 0, canvas.width, canvas.height]);
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
      apply(target, drawBack(self), args));
    patchMethod(H, "toBlob", () => (target, self, args) =>
      apply(target, drawBack(self), args));
  }
  if (G.OffscreenCanvas) {
    patchMethod(G.OffscreenCanvas.prototype, "convertToBlob", () => (target, self, args) =>
      apply(target, noisyCopy(self) || self, args));
  }

  // --- audio noise: relative, tiny, stable ------------------------------------------------------
  // What a rendering produced is changed once, as it completes, before any script can read
  // it: every read of it (getChannelData, copyFromChannel, in any order) then agrees, and
  // buffers a page makes or fills itself (createBuffer, copyToChannel) read back as written.
  // ``value`` scaled by 1 ± 2e-6, the sign and size from the hash ``h``
  const jitter = (value, h) => value * (1 + ((h / 4294967296) * 2 - 1) * 2e-6);
  const wsHas = WeakSet.prototype.has, wsAdd = WeakSet.prototype.add;
  const then = Promise.prototype.then;
  const rendered = new WeakSet();
  const AB = G.AudioBuffer && G.AudioBuffer.prototype;
  const channelData = AB && AB.getChannelData;
  const channels = AB && describe(AB, "numberOfChannels");
  const noiseRendered = (buffer) => {
    if (!channelData || !channels || buffer === null || typeof buffer !== "object" ||
        apply(wsHas, rendered, [buffer])) {
      return buffer;
    }
    try {
      const count = apply(channels.get, buffer, []);
      for (let c = 0; c < count; c++) {
        const array = apply(channelData, buffer, [c]);
        for (let i = 0; i < array.length; i++) {
          array[i] = jitter(array[i],
            mix(seed ^ Math.imul(i + 7, 0x85ebca6b) ^ Math.imul(c + 1, 0x27d4eb2f)));
        }
      }
      apply(wsAdd, rendered, [buffer]);
    } catch (e) { /* not a buffer of this realm: leave it */ }
    return buffer;
  };
  if (G.OfflineAudioContext) {
    patchMethod(G.OfflineAudioContext.prototype, "startRendering", () => (target, self, args) =>
      apply(then, apply(target, self, args), [noiseRendered]));
  }
  const completed = G.OfflineAudioCompletionEvent &&
    describe(G.OfflineAudioCompletionEvent.prototype, "renderedBuffer");
  if (completed && completed.get) {
    const get = describe({ get renderedBuffer() {
      try { return noiseRendered(apply(completed.get, this, [])); } catch (e) { throw hide(e, get); }
    } }, "renderedBuffer").get;
    define(G.OfflineAudioCompletionEvent.prototype, "renderedBuffer",
           { ...completed, get: mask(get, completed.get) });
  }
  if (G.AnalyserNode) {
    patchMethod(G.AnalyserNode.prototype, "getFloatFrequencyData", () => (target, self, args) => {
      const result = apply(target, self, args);
      const array = args[0];
      for (let i = 0; array && i < array.length; i++) {
        array[i] = jitter(array[i], mix(seed ^ Math.imul(i + 13, 0xc2b2ae35)));
      }
      return result;
    });
  }

  // --- objects of a native interface the browser here cannot make: an instance of the
  // prototype whose getters answer from ``fields`` (real instances still answer natively)
  const fakes = new WeakMap();
  const patchFields = (proto, names) => {
    for (const name of names) {
      const d = proto && describe(proto, name);
      if (!d || !d.get) continue;
      const native = d.get;
      const get = describe({ get [name]() {
        const own = apply(wmGet, fakes, [this]);
        if (own !== undefined) return own[name];
        try { return apply(native, this, []); } catch (e) { throw hide(e, get); }
      } }, name).get;
      define(proto, name, { ...d, get: mask(get, native) });
    }
  };
  const fake = (proto, fields) => {
    const object = Object.create(proto);
    apply(wmSet, fakes, [object, fields]);
    return object;
  };

  // --- speech voices: the system's and Google's, as a desktop Chrome lists them -------------
  // ("in", not the getter: reading speechSynthesis makes the realm's synthesizer, which
  // asks the browser for its voices; the prototypes are all that is patched)
  if ("speechSynthesis" in G && G.SpeechSynthesis && G.SpeechSynthesisVoice &&
      cfg.voices.length) {
    const VP = G.SpeechSynthesisVoice.prototype;
    patchFields(VP, ["voiceURI", "name", "lang", "localService", "default"]);
    const voices = cfg.voices.map(([name, lang, local, isDefault]) => fake(VP, {
      voiceURI: name, name, lang, localService: local, default: isDefault }));
    patchMethod(G.SpeechSynthesis.prototype, "getVoices", () => (target, self, args) => {
      apply(target, self, args);
      return voices.slice();
    });
    // an utterance takes one of these voices (and speaks with the default one)
    const chosen = new WeakMap();
    const UP = G.SpeechSynthesisUtterance && G.SpeechSynthesisUtterance.prototype;
    const vd = UP && describe(UP, "voice");
    if (vd && vd.get && vd.set) {
      const get = describe({ get voice() {
        const own = apply(wmGet, chosen, [this]);
        try {
          const real = apply(vd.get, this, []);
          return own !== undefined ? own : real;
        } catch (e) { throw hide(e, get); }
      } }, "voice").get;
      const set = describe({ set voice(value) {
        const ours = value !== null && apply(wmGet, fakes, [value]) !== undefined;
        try { apply(vd.set, this, [ours ? null : value]); } catch (e) { throw hide(e, set); }
        apply(wmSet, chosen, [this, ours ? value : undefined]);
      } }, "voice").set;
      define(UP, "voice", { ...vd, get: mask(get, vd.get), set: mask(set, vd.set) });
    }
  }

  // --- media devices: a microphone, a camera and speakers, unnamed until a site is allowed
  // them (Chrome's answer before permission); asking for them is refused, as by a user
  if (G.MediaDevices && G.MediaDeviceInfo) {
    const MP = G.MediaDeviceInfo.prototype;
    const IP = G.InputDeviceInfo ? G.InputDeviceInfo.prototype : MP;
    patchFields(MP, ["deviceId", "kind", "label", "groupId"]);
    const device = (kind) => fake(kind === "audiooutput" ? MP : IP, {
      deviceId: "", kind, label: "", groupId: "" });
    patchMethod(MP, "toJSON", () => (target, self, args) => {
      const own = apply(wmGet, fakes, [self]);
      return own === undefined ? apply(target, self, args) : { ...own };
    });
    if (IP !== MP) {
      patchMethod(IP, "getCapabilities", () => (target, self, args) =>
        apply(wmGet, fakes, [self]) === undefined ? apply(target, self, args) : {});
    }
    const MD = G.MediaDevices.prototype;
    patchMethod(MD, "enumerateDevices", () => (target, self, args) =>
      apply(target, self, args).then((real) => real.length ? real
        : ["audioinput", "videoinput", "audiooutput"].map(device)));
    patchMethod(MD, "getUserMedia", () => (target, self, args) => {
      const c = args[0];
      if (c && typeof c === "object" && (c.audio || c.video)) {
        return Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
      }
      return apply(target, self, args);
    });
  }

  // --- Web Share: Chrome on Windows, macOS and Android has it (windows, secure contexts);
  // Chrome on Linux does not, and neither does the Chromium here. Nothing is ever shared:
  // without a user's gesture the request is refused as Chrome refuses it, with one the
  // user is taken to have closed the share sheet.
  const addMethod = (proto, name, length, impl) => {
    const fn = { [name](...args) {
      try { return impl(this, args); } catch (e) { throw hide(e, fn); }
    } }[name];
    define(fn, "length", { value: length, configurable: true });
    apply(wmSet, masks, [fn, "function " + name + "() { [native code] }"]);
    define(proto, name, { value: fn, writable: true, enumerable: true, configurable: true });
    return fn;
  };
  const NP = G.Navigator ? NavProto : null;
  const activation = NP && describe(NP, "userActivation");
  if (cfg.webShare && NP && uaGetter && G.isSecureContext && !("share" in NP)) {
    const shareable = (data) => {
      if (data === undefined || data === null) return false;
      if (typeof data !== "object") throw new TypeError(
        "Failed to execute 'canShare' on 'Navigator': The provided value is not of type 'ShareData'.");
      const { title, text, url, files } = data;
      if (title === undefined && text === undefined && url === undefined &&
          (files === undefined || !files.length)) return false;
      if (url !== undefined) {
        try {
          const parsed = new URL(String(url), G.document.baseURI);
          if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
        } catch (e) { return false; }
      }
      return true;
    };
    addMethod(NP, "canShare", 0, (self, args) => {
      apply(uaGetter.get, self, []);  // "Illegal invocation" on another receiver (native)
      return shareable(args[0]);
    });
    const share = addMethod(NP, "share", 0, (self, args) => {
      const refuse = (error) => Promise.reject(hide(error, share));
      try { apply(uaGetter.get, self, []); } catch (e) { return refuse(e); }
      let ok;
      try { ok = shareable(args[0] === undefined ? {} : args[0]); } catch (e) { return refuse(e); }
      if (!ok) {
        return refuse(new TypeError("Failed to execute 'share' on 'Navigator': No known share " +
          "data fields supplied. If using only new fields (other than title, text and url), " +
          "you must feature-detect them first."));
      }
      const user = activation && activation.get ? apply(activation.get, self, []) : null;
      if (!user || !user.isActive) {
        return refuse(new DOMException("Failed to execute 'share' on 'Navigator': Must be " +
          "handling a user gesture to perform a share request.", "NotAllowedError"));
      }
      return refuse(new DOMException("Share canceled", "AbortError"));
    });
  }

  // --- console: Playwright keeps the DevTools Runtime domain on in every realm, and with it
  // on, logging an Error makes DevTools read its stack, which runs the page's
  // Error.prepareStackTrace (or a "stack" getter): a page sees the debugger there (fpscanner's
  // hasCDP). Chrome without DevTools open reads nothing, so an Error passed to the console
  // reaches it as a placeholder; nothing else changes (no one reads this console but us).
  const isError = typeof ErrorCtor.isError === "function" ? ErrorCtor.isError : null;
  const errorProto = ErrorCtor.prototype, isPrototypeOf = Object.prototype.isPrototypeOf;
  const looksLikeError = (value) => value !== null && typeof value === "object" &&
    (isError ? apply(isError, ErrorCtor, [value]) : apply(isPrototypeOf, errorProto, [value]));
  const CP = G.console;
  if (CP) {
    for (const name of ["log", "debug", "info", "warn", "error", "dir", "dirxml", "table",
                        "trace", "assert", "group", "groupCollapsed", "timeLog"]) {
      patchMethod(CP, name, () => (target, self, args) => {
        for (let i = 0; i < args.length; i++) {  // (args is this call's own array)
          if (looksLikeError(args[i])) args[i] = "[error]";
        }
        return apply(target, self, args);
      });
    }
  }

  // --- WebRTC: "block" removes peer connections; "proxied" relies on the launch policy ---------
  if (cfg.webrtc === "block") {
    for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel"]) {
      if (name in G) {
        try { delete G[name]; } catch (e) { /* non-configurable: leave it */ }
      }
    }
  }

  // Replace a constructor with an ordinary function of the same name, length, prototype and
  // text; ``make(args)`` gives the arguments the native constructor is called with.
  const patchConstructor = (name, make) => {
    const Native = G[name];
    const hooked = { [name]: function (url) {
      if (new.target === undefined) {  // called without new: the native's own TypeError
        try { return apply(Native, this, arguments); } catch (e) { throw hide(e, hooked); }
      }
      const args = make(Array.prototype.slice.call(arguments));
      try { return construct(Native, args, new.target); } catch (e) { throw hide(e, hooked); }
    } }[name];
    asNative(hooked, Native);
    define(hooked, "prototype", { value: Native.prototype, writable: false });
    Object.setPrototypeOf(hooked, protoOf(Native));
    define(Native.prototype, "constructor", { ...describe(Native.prototype, "constructor"),
                                              value: hooked });
    define(G, name, { ...describe(G, name), value: hooked });
  };

  // --- workers: the guard runs first in every worker this realm starts ---------------------
  // http(s) worker scripts (dedicated, shared and service workers) get the guard in front as
  // the host serves them (the worker keeps its own URL, so relative imports still work);
  // blob: and data: workers are rebuilt here with the guard in front (a synchronous read of
  // a blob: URL stays in the browser).
  const guarded = (args) => {
    try {
      const url = new URL(String(args[0]), G.location.href);
      if (url.protocol === "blob:" || url.protocol === "data:") {
        const xhr = new XMLHttpRequest();
        xhr.open("GET", url.href, false);
        xhr.send();
        const blob = new Blob([selfSource + xhr.responseText], { type: "text/javascript" });
        args[0] = URL.createObjectURL(blob);
      }
    } catch (e) { /* the native constructor reports a bad URL itself */ }
    return args;
  };
  if (G.Worker) patchConstructor("Worker", guarded);
  if (G.SharedWorker) patchConstructor("SharedWorker", guarded);
})(__VIPB_CONFIG__);
