"""``domain.lazy_exports``: a package's names load their module on first use, once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_a_name_loads_only_its_own_module_on_first_use(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from domain.lazy_exports import lazy_exports\n"
        "__getattr__ = lazy_exports(__name__, {'A': '_a', 'B': '_b'}, globals())\n")
    (pkg / "_a.py").write_text("A = object()\n")
    (pkg / "_b.py").write_text("raise RuntimeError('_b must not load')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazypkg", raising=False)
    import lazypkg

    assert "lazypkg._a" not in sys.modules
    first = lazypkg.A
    assert first is sys.modules["lazypkg._a"].A and "lazypkg._b" not in sys.modules
    assert vars(lazypkg)["A"] is first  # kept: the next read does not come back
    with pytest.raises(AttributeError, match=r"^module 'lazypkg' has no attribute 'C'$"):
        _ = lazypkg.C
    for name in ("lazypkg", "lazypkg._a"):
        sys.modules.pop(name, None)
