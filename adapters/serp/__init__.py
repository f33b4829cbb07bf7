"""Search engine result pages: URLs to ask for, parsers that read them (selectolax)."""

from ._engines import ENGINE_CLASSES, Bing, DuckDuckGo, Engine, Google, engine
from ._page import SerpBlockedError, SerpError, SerpPage, unwrap

__all__ = [
    "ENGINE_CLASSES",
    "Bing",
    "DuckDuckGo",
    "Engine",
    "Google",
    "SerpBlockedError",
    "SerpError",
    "SerpPage",
    "engine",
    "unwrap",
]
