"""Package names that load their module on first use (PEP 562 ``__getattr__``).

A package that re-exports many modules' names would import them all when any one is asked
for; with ``lazy_exports`` it imports only the module that holds the name, once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str],
                 namespace: dict[str, Any]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: a name in ``homes`` is imported from its module
    (``homes[name]``, relative to the package) and kept in ``namespace`` (the package's
    ``globals()``), so later reads do not come back here."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    return __getattr__
