"""Fixtures for tests that drive real Chromium (Debian's package, or Playwright's own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from scripts.fixtures.sites import Site, local_site
from service.runtime import Runtime
from tests.helpers import HAVE_CHROMIUM, open_runtime


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests need Chromium: required in CI, skipped elsewhere when it is missing."""
    if HAVE_CHROMIUM or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="no Chromium (apt-get install chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


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
