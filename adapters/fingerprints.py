"""Generate coherent fingerprints with browserforge (offline Bayesian-network data).

browserforge samples whole devices, so user agent, platform, screen, memory, cores, WebGL
vendor/renderer and fonts come from the same real-world device rather than independent
guesses. Its Chrome versions lag the engine; ``Fingerprint.for_engine`` stamps the real one.
Its Sec-Fetch headers are wrong, so none of its headers are used.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

import pydantic

from domain.errors import ValidationError
from domain.fingerprint import Brand, Fingerprint, Screen

OS_CHOICES = ("windows", "macos", "linux", "android")
DESKTOP_OS = ("windows", "macos", "linux")
MOBILE_OS = ("android",)  # Chrome on iOS is WebKit: a Chromium tab cannot claim it
_lock = threading.Lock()  # browserforge samples with the global ``random`` module


def _generator(os_names: tuple[str, ...], mobile: bool) -> Any:
    from browserforge.fingerprints import FingerprintGenerator  # ~1 s import: only when used

    return FingerprintGenerator(browser="chrome", os=os_names,
                                device="mobile" if mobile else "desktop")


# browserforge's data holds a few devices with impossible core counts (640): a data error,
# read as the most common count of its desktops
MAX_CORES, COMMON_CORES = 128, 8
# a draw is refused up to about half the time (Linux desktops in apify-fingerprint-datapoints
# 0.16: software renderers, ARM platforms under an x86_64 user agent): 48 in a row never happen
DRAWS = 48


def _screen(fp: Any) -> Screen | None:
    """The drawn device's screen, or None when it is one no Chrome reports: browserforge's
    desktops include a few at devicePixelRatio 5 (about 1 in 7,500 profiles made for
    Windows and macOS failed to be created with "internal error")."""
    s = fp.screen
    try:
        return Screen(width=s.width, height=s.height, avail_width=s.availWidth,
                      avail_height=s.availHeight, color_depth=s.colorDepth,
                      pixel_ratio=float(s.devicePixelRatio or 1))
    except pydantic.ValidationError:
        return None


def _cores(value: int | None) -> int:
    return value if value and 1 <= value <= MAX_CORES else COMMON_CORES


def _values(fp: Any, seed: int, mobile: bool, locale: str | None) -> Fingerprint | None:
    """The drawn device as our values (made coherent), or None when its screen is one no
    Chrome reports."""
    screen = _screen(fp)
    if screen is None:
        return None
    nav = fp.navigator
    ua_data = nav.userAgentData or {}
    raw_brands = ua_data.get("brands", [])
    # Brands carrying the engine major (Chrome, Chromium, Edge, Brave...) follow the real
    # engine; the GREASE brand keeps its own version.
    engine_major = next((b["version"] for b in raw_brands if b["brand"] == "Chromium"), None)
    brands = [Brand(brand=b["brand"], version=b["version"], engine=b["version"] == engine_major)
              for b in raw_brands]
    languages = [locale] if locale else list(nav.languages or [nav.language or "en-US"])
    return Fingerprint(
        user_agent=nav.userAgent,
        platform=nav.platform,
        ua_platform=ua_data.get("platform", ""),
        ua_platform_version=ua_data.get("platformVersion", ""),
        architecture=ua_data.get("architecture", "" if mobile else "x86"),
        bitness=ua_data.get("bitness", "" if mobile else "64"),
        brands=brands,
        languages=languages,
        hardware_concurrency=_cores(nav.hardwareConcurrency),
        device_memory=nav.deviceMemory or 8,
        max_touch_points=nav.maxTouchPoints or 0,
        screen=screen,
        webgl_vendor=fp.videoCard.vendor if fp.videoCard else "Google Inc.",
        webgl_renderer=fp.videoCard.renderer if fp.videoCard else "ANGLE",
        fonts=sorted(set(fp.fonts or [])),
        noise_seed=random.Random(seed).getrandbits(32),
        mobile=mobile,
        model=str(ua_data.get("model") or ""),
    ).coherent()


def generate_fingerprint(seed: int, os_names: Sequence[str] = DESKTOP_OS,
                         locale: str | None = None) -> Fingerprint:
    """One coherent Chrome fingerprint (desktop, or a phone for ``android``), reproducible
    from ``seed`` for a given browserforge data version (the result is persisted, so later
    data changes do not matter)."""
    unknown = sorted(set(os_names) - set(OS_CHOICES))
    if unknown or not os_names:
        raise ValidationError(f"must be some of {', '.join(OS_CHOICES)}", field="os")
    mobile = "android" in os_names
    if mobile and set(os_names) != {"android"}:
        raise ValidationError("android (a phone) cannot be mixed with desktop systems",
                              field="os")
    with _lock:
        state = random.getstate()
        try:
            # browserforge's data holds devices no Chrome is (``Fingerprint.faults``: a Mac
            # user agent on a Linux platform, software renderers, desktops emulating a phone),
            # Android tablets among its phones (their user agent lacks "Mobile"), and a few
            # screens no Chrome reports (``_screen``): draw again, from a seed derived from
            # this one, until the device is one real Chrome of a system asked for
            for draw in range(DRAWS):
                random.seed(seed if draw == 0 else f"{seed}/{draw}")
                values = _values(_generator(tuple(os_names), mobile).generate(), seed, mobile,
                                 locale)
                if values is not None and not values.faults() and values.system in os_names:
                    return values
        finally:
            random.setstate(state)
    raise ValidationError(f"no device real Chrome could be in {DRAWS} draws from seed {seed}",
                          field="seed")
