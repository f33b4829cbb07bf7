"""Search engine result pages: engine definitions (data files), the URLs to ask for, and
the reader that turns a page into organic results and SERP features (selectolax)."""

from ._definition import EngineDefinition, EngineFileError, read_definition, read_definitions
from ._engines import Engine
from ._page import SerpBlockedError, SerpError, SerpPage, SerpResult, unwrap
from ._reading import Gathered
from ._registry import RECHECK, Engines, UnknownEngineError

__all__ = [
    "RECHECK",
    "Engine",
    "EngineDefinition",
    "EngineFileError",
    "Engines",
    "Gathered",
    "SerpBlockedError",
    "SerpError",
    "SerpPage",
    "SerpResult",
    "UnknownEngineError",
    "read_definition",
    "read_definitions",
    "unwrap",
]
