"""Search engine result pages: engine definitions (data files), the URLs to ask for, and
the reader that turns a page into organic results and SERP features (selectolax)."""

from ._definition import FEATURES, EngineDefinition, EngineFileError, load_definitions
from ._engines import Engine
from ._page import SerpBlockedError, SerpError, SerpPage, SerpResult, unwrap
from ._registry import Engines, UnknownEngineError

__all__ = [
    "FEATURES",
    "Engine",
    "EngineDefinition",
    "EngineFileError",
    "Engines",
    "SerpBlockedError",
    "SerpError",
    "SerpPage",
    "SerpResult",
    "UnknownEngineError",
    "load_definitions",
    "unwrap",
]
