"""Render the privacy guard script (``guard.js``) for one profile."""

from __future__ import annotations

import json
import secrets
from functools import cache
from importlib.resources import files

from domain.fingerprint import EngineFingerprint
from domain.voices import voices_for
from domain.webgl import webgl_backend


@cache
def _template() -> str:
    return (files("adapters.browser") / "guard.js").read_text(encoding="utf-8")


def guard_script(fp: EngineFingerprint, *, languages: list[str] | None = None,
                 webrtc: str = "proxied", token: str | None = None) -> str:
    """The JavaScript that makes a page, iframe or worker present ``fp`` (``languages``
    overrides the fingerprint's, to match the tab's locale). ``token`` is the tab's secret
    by which its guarded realms recognise each other (a fresh one when not given)."""
    v = fp.values
    webgl = webgl_backend(v.webgl_renderer, v.gpu_vendor, v.mobile)
    config = {
        "userAgent": fp.user_agent,
        "platform": v.platform,
        "uaPlatform": v.ua_platform,
        "uaPlatformVersion": v.ua_platform_version,
        "architecture": v.architecture,
        "bitness": v.bitness,
        "mobile": v.mobile,
        "model": v.model,
        "brands": fp.brands,
        "fullVersion": fp.full_version,
        "fullVersionList": fp.full_version_list,
        "languages": languages or v.languages,
        "hardwareConcurrency": v.hardware_concurrency,
        "deviceMemory": v.device_memory,
        "maxTouchPoints": v.max_touch_points,
        "screen": {"width": v.screen.width, "height": v.screen.height,
                   "availWidth": v.screen.avail_width, "availHeight": v.screen.avail_height,
                   "colorDepth": v.screen.color_depth},
        # a maximised window: the browser's own bars are the difference to the viewport
        "outer": None if v.mobile else {"width": v.screen.avail_width,
                                        "height": v.screen.avail_height},
        "webglVendor": v.webgl_vendor,
        "webglRenderer": v.webgl_renderer,
        "webglLimits": webgl.limits,
        "webglMissing": list(webgl.missing_extensions),
        "voices": [list(voice) for voice in voices_for(v.ua_platform, v.mobile)],
        "noiseSeed": v.noise_seed,
        "webrtc": webrtc,
        # Chrome has the Web Share API on these systems, not on Linux
        "webShare": v.ua_platform in ("Windows", "macOS", "Android", "Chrome OS"),
        "token": token or secrets.token_hex(16),
    }
    # json.dumps output is a valid JS expression; "</" cannot end a script tag here because
    # the script is injected through CDP, never inlined into HTML.
    return _template().replace("__VIPB_CONFIG__", json.dumps(config))
