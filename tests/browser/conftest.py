"""Fixtures for tests that drive real Chromium (Debian's package, or Playwright's own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from actors.runtime import Runtime
from adapters.browser import find_chromium
from adapters.config import Settings
from domain.errors import BrowserNotFoundError
from tests.sites import Site, local_site


def _chromium_available() -> bool:
    try:
        find_chromium()
    except BrowserNotFoundError:
        return False
    return True


HAVE_CHROMIUM = _chromium_available()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests need Chromium: required in CI, skipped elsewhere when it is missing."""
    if HAVE_CHROMIUM or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="no Chromium (apt-get install chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


def open_runtime(root: Path, **settings: object) -> Runtime:
    """A runtime allowed to open loopback pages (the test sites)."""
    options: dict[str, object] = {"allow_private_targets": True, **settings}
    return Runtime.open(root, settings=Settings(data_dir=root, **options))  # type: ignore[arg-type]


@pytest.fixture
def browser_runtime(data_dir: Path) -> Iterator[Runtime]:
    """A real runtime whose tabs run in real Chromium."""
    rt = open_runtime(data_dir)
    yield rt
    rt.close()
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def site() -> Iterator[Site]:
    """The local test site."""
    with local_site() as s:
        yield s


@pytest.fixture
def other_site() -> Iterator[Site]:
    """A second local site on another port."""
    with local_site() as s:
        yield s
