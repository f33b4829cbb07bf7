"""The fingerprint a privacy profile presents: plain values, persisted in the profile's events.

Values are generated once (see ``adapters.fingerprints``) and then only read, so a profile looks
the same after every restart. The engine version is not part of the stored values: the user
agent, brands and full-version list are stamped with the version of the Chromium actually
running (``for_engine``), so the claimed major always matches the real engine.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from domain.webgl import D3D11, METAL_APPLE, METAL_OTHER, OPENGL, webgl_backend

_CHROME_VERSION = re.compile(r"Chrome/\d+(\.\d+){0,3}")
# "Google Inc. (Apple)" / "ANGLE (Apple, ANGLE Metal Renderer: Apple M2, ...)"
_GPU_VENDOR = re.compile(r"\(([^(),]+)[),]")
_ARM_GPU_VENDORS = frozenset({"Apple", "ARM", "Qualcomm"})

# The systems a tab may claim: the user agent's token for each, its name among the --os
# choices, the userAgentData platform its Chrome reports, and the navigator.platform values it
# reports (Chrome on Android says the kernel's machine name: "Linux armv81" on many Samsungs,
# "Linux armv8l", "Linux aarch64").
_SYSTEMS = (
    ("Windows NT", "windows", "Windows", frozenset({"Win32"})),
    ("Macintosh", "macos", "macOS", frozenset({"MacIntel"})),
    ("Android", "android", "Android",
     frozenset({"Linux armv81", "Linux armv8l", "Linux aarch64"})),
    ("X11; Linux x86_64", "linux", "Linux", frozenset({"Linux x86_64"})),
)
# The WebGL backends each desktop system's Chrome draws with (Chrome on a Mac uses Metal since
# 2023; on Linux, OpenGL)
_BACKENDS = {"Windows": (D3D11,), "macOS": (METAL_APPLE, METAL_OTHER), "Linux": (OPENGL,)}
# Software rasterisers: what headless browsers and VMs without a GPU report, never a visitor
_SOFTWARE_GL = re.compile(r"SwiftShader|llvmpipe|softpipe|Basic Render Driver", re.IGNORECASE)

# Chromium's own brand list (components/embedder_support/user_agent_utils.cc): a GREASE brand
# and version seeded by the major version, then [GREASE, "Chromium", product brand] placed by
# a permutation also seeded by the major. Real Chrome 156 says "Not:A-Brand";v="8"; the lists
# in browserforge's data come from older versions, so they are regenerated, never replayed.
_GREASE_CHARS = (" ", "(", ":", "-", ".", "/", ")", ";", "=", "?", "_")
_GREASE_VERSIONS = ("8", "99", "24")
_ORDERS_3 = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def chromium_brands(major: int, product: str | None, version: str,
                    *, full: bool = False) -> list[tuple[str, str]]:
    """The brand list Chromium ``major`` sends: ``version`` for Chromium and ``product``
    (e.g. "Google Chrome"; None for plain Chromium), the GREASE brand's own version (as a
    full version with ``full``)."""
    grease = (f"Not{_GREASE_CHARS[major % 11]}A{_GREASE_CHARS[(major + 1) % 11]}Brand",
              _GREASE_VERSIONS[major % 3] + (".0.0.0" if full else ""))
    unshuffled = [grease, ("Chromium", version)]
    if product:
        unshuffled.append((product, version))
    order = (major % 2, (major + 1) % 2) if len(unshuffled) == 2 else _ORDERS_3[major % 6]
    shuffled: list[tuple[str, str]] = list(unshuffled)
    for i, place in enumerate(order):  # each entry lands at its place, as Chromium does
        shuffled[place] = unshuffled[i]
    return shuffled


def _system_entry(user_agent: str) -> tuple[str, str, str, frozenset[str]] | None:
    """The ``_SYSTEMS`` entry ``user_agent`` names (the first whose token it holds)."""
    return next((entry for entry in _SYSTEMS if entry[0] in user_agent), None)


def system_of(user_agent: str) -> str | None:
    """The system ``user_agent`` names, as ``--os`` names it ("windows", "macos", "linux",
    "android"), or None for one a tab cannot claim."""
    entry = _system_entry(user_agent)
    return entry[1] if entry else None


class Brand(BaseModel):
    """One ``navigator.userAgentData`` brand entry; ``version`` "" means the engine's."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    brand: str
    version: str
    engine: bool = False  # stamped with the running engine's version


class Screen(BaseModel):
    """Screen geometry as ``window.screen`` reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    width: int = Field(ge=320, le=8192)
    height: int = Field(ge=240, le=8192)
    avail_width: int = Field(ge=320, le=8192)
    avail_height: int = Field(ge=200, le=8192)
    color_depth: int = Field(ge=8, le=48)
    pixel_ratio: float = Field(gt=0, le=4)


class Fingerprint(BaseModel):
    """A coherent set of browser values (one real device's worth, from browserforge data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user_agent: str  # with a placeholder Chrome version; see ``for_engine``
    platform: str  # navigator.platform, e.g. "Win32"
    ua_platform: str  # userAgentData.platform, e.g. "Windows"
    ua_platform_version: str
    architecture: str
    bitness: str
    brands: list[Brand]
    languages: list[str] = Field(min_length=1)
    hardware_concurrency: int = Field(ge=1, le=256)
    device_memory: float = Field(gt=0, le=64)
    max_touch_points: int = Field(ge=0, le=256)  # browserforge data holds up to 80+
    screen: Screen
    webgl_vendor: str
    webgl_renderer: str
    fonts: list[str]  # browserforge's list, on record; tabs measure their OS's font set
    noise_seed: int = Field(ge=0, lt=2**32)  # canvas and audio noise, stable per profile
    mobile: bool = False  # a phone: touch, mobile viewport, Sec-CH-UA-Mobile ?1
    model: str = ""  # userAgentData model (phones)

    @property
    def product_brand(self) -> str | None:
        """The browser's own brand beside "Chromium" ("Google Chrome"), if it claims one."""
        return next((b.brand for b in self.brands if b.engine and b.brand != "Chromium"), None)

    @property
    def gpu_vendor(self) -> str:
        """The GPU's maker as WebGL names it ("Apple", "Intel", ...; "" if unknown)."""
        match = _GPU_VENDOR.search(self.webgl_vendor) or _GPU_VENDOR.search(self.webgl_renderer)
        return match.group(1).strip() if match else ""

    @property
    def system(self) -> str | None:
        """The system the user agent names (``system_of``)."""
        return system_of(self.user_agent)

    def faults(self) -> list[str]:
        """What tells these values apart from any one real Chrome (empty when nothing does).

        Fingerprint data collected from the web holds devices no browser is: a Mac user agent
        with a Linux ``navigator.platform``, Windows or Linux under a software renderer (a VM
        or a headless browser), a phone with a Direct3D GPU (a desktop emulating one). The
        user agent, ``navigator.platform`` and ``userAgentData.platform`` must name one
        system, a phone must say so, and the GPU must be hardware that system's Chrome
        draws with (a desktop one through a backend whose limits tabs present).
        """
        system = _system_entry(self.user_agent)
        if system is None:
            return [f"user agent names no system a tab can claim: {self.user_agent[:80]}"]
        _token, _choice, name, platforms = system
        found: list[str] = []
        if self.ua_platform != name:
            found.append(f"userAgentData.platform {self.ua_platform!r} but the user agent "
                         f"says {name}")
        if self.platform not in platforms:
            found.append(f"navigator.platform {self.platform!r} but the user agent says {name}")
        if self.mobile != (name == "Android" and " Mobile" in self.user_agent):
            found.append("a phone must be Android and say Mobile" if self.mobile
                         else f"{name} is not a desktop system")
        renderer = self.webgl_renderer
        if _SOFTWARE_GL.search(renderer):
            found.append(f"software renderer {renderer[:60]!r}")
        elif self.mobile:
            if "Direct3D" in renderer or "D3D" in renderer or "Metal" in renderer:
                found.append(f"a desktop GPU on a phone: {renderer[:60]!r}")
        else:
            backend = webgl_backend(renderer, self.gpu_vendor, False)
            if not any(backend is b for b in _BACKENDS.get(name, ())):
                found.append(f"{name} does not draw with {renderer[:60]!r}")
        return found

    def coherent(self) -> Fingerprint:
        """These values with the device signals made to agree with each other (profiles
        stored before these rules are presented by them too): a desktop has no touch points
        (tabs have touch events only on phones), a colour depth of 24 (30 kept for a Mac:
        wide-gamut displays report it), and the CPU architecture of its GPU's maker (a Mac
        with an Apple GPU is Apple Silicon: "arm")."""
        changes: dict[str, object] = {}
        if not self.mobile:
            changes["max_touch_points"] = 0
            if not (self.ua_platform == "macOS" and self.screen.color_depth == 30):
                changes["screen"] = self.screen.model_copy(update={"color_depth": 24})
            arm = self.gpu_vendor in _ARM_GPU_VENDORS
            changes["architecture"] = "arm" if arm else "x86"
            changes["bitness"] = "64"
        elif self.max_touch_points == 0:
            changes["max_touch_points"] = 5
        return self.model_copy(update=changes)

    def for_engine(self, version: str) -> EngineFingerprint:
        """These values (made coherent) with the user agent and brands of the running engine
        ``version``."""
        fp = self.coherent()
        major = version.split(".")[0]
        ua = _CHROME_VERSION.sub(f"Chrome/{major}.0.0.0", fp.user_agent)
        product = fp.product_brand
        brands = chromium_brands(int(major), product, major)
        full = chromium_brands(int(major), product, version, full=True)
        return EngineFingerprint(values=fp, user_agent=ua, major=major, full_version=version,
                                 brands=brands, full_version_list=full)


class EngineFingerprint(BaseModel):
    """A fingerprint stamped for one engine version: what tabs actually present."""

    model_config = ConfigDict(frozen=True)
    values: Fingerprint
    user_agent: str
    major: str
    full_version: str
    brands: list[tuple[str, str]]
    full_version_list: list[tuple[str, str]]
