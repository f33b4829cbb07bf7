"""WebGL limits and extensions as a claimed GPU's graphics backend reports them.

Tabs render WebGL with SwiftShader (software), whose limits no desktop GPU has (a maximum
texture and viewport size of 8192) and whose extension list includes formats a Windows
machine's Direct3D backend never exposes (ETC, ASTC). Chrome's WebGL goes through ANGLE, and
ANGLE's limits depend on the backend far more than on the GPU model: Direct3D 11 on Windows,
Metal on macOS, OpenGL on Linux. The values below are ANGLE's (renderer11_utils.cpp for
Direct3D 11 at feature level 11; DisplayMtl.mm for Metal on macOS); for OpenGL, where they
depend on the driver, only the sizes every current desktop driver reports are set and the
rest stay as rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WebGLValue = int | tuple[int, int]


@dataclass(frozen=True)
class WebGLBackend:
    """What ``getParameter`` answers for these limits, and extensions the backend lacks."""

    name: str
    limits: dict[str, WebGLValue] = field(default_factory=dict)
    missing_extensions: tuple[str, ...] = ()


_DESKTOP_SIZES: dict[str, WebGLValue] = {
    "MAX_TEXTURE_SIZE": 16384, "MAX_CUBE_MAP_TEXTURE_SIZE": 16384,
    "MAX_RENDERBUFFER_SIZE": 16384,
}
_SHARED_UNITS: dict[str, WebGLValue] = {
    "MAX_VERTEX_ATTRIBS": 16, "MAX_TEXTURE_IMAGE_UNITS": 16,
    "MAX_VERTEX_TEXTURE_IMAGE_UNITS": 16, "MAX_COMBINED_TEXTURE_IMAGE_UNITS": 32,
    "ALIASED_LINE_WIDTH_RANGE": (1, 1),
}
# compressed formats desktop GPUs do not sample natively (mobile and Apple GPUs do)
_MOBILE_FORMATS = ("WEBGL_compressed_texture_astc", "WEBGL_compressed_texture_etc",
                   "WEBGL_compressed_texture_etc1")

D3D11 = WebGLBackend("Direct3D 11", {
    **_DESKTOP_SIZES, **_SHARED_UNITS, "MAX_VIEWPORT_DIMS": (32767, 32767),
    "MAX_VERTEX_UNIFORM_VECTORS": 4096, "MAX_FRAGMENT_UNIFORM_VECTORS": 1024,
    "MAX_VARYING_VECTORS": 30, "ALIASED_POINT_SIZE_RANGE": (1, 1024),
}, _MOBILE_FORMATS)
METAL_APPLE = WebGLBackend("Metal (Apple GPU)", {
    **_DESKTOP_SIZES, **_SHARED_UNITS, "MAX_VIEWPORT_DIMS": (16384, 16384),
    "MAX_VERTEX_UNIFORM_VECTORS": 1024, "MAX_FRAGMENT_UNIFORM_VECTORS": 1024,
    "MAX_VARYING_VECTORS": 30, "ALIASED_POINT_SIZE_RANGE": (1, 511),
})
METAL_OTHER = WebGLBackend("Metal (Intel or AMD GPU)", METAL_APPLE.limits, _MOBILE_FORMATS)
OPENGL = WebGLBackend("OpenGL", {**_DESKTOP_SIZES, "MAX_VIEWPORT_DIMS": (16384, 16384)},
                      _MOBILE_FORMATS)
AS_RENDERED = WebGLBackend("as rendered")  # phones, SwiftShader, unknown: left alone


def webgl_backend(renderer: str, gpu_vendor: str, mobile: bool) -> WebGLBackend:
    """The backend a claimed ``renderer`` string (WebGL's unmasked renderer) reports."""
    if mobile or "SwiftShader" in renderer:
        return AS_RENDERED
    if "Direct3D11" in renderer or "D3D11" in renderer:
        return D3D11
    if "Metal" in renderer:
        return METAL_APPLE if gpu_vendor == "Apple" else METAL_OTHER
    if "OpenGL" in renderer:
        return OPENGL
    return AS_RENDERED
