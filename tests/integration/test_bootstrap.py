"""``bootstrap()`` builds the runtime from what it is given: the store passed in is the one
used, the browser comes from the factory (on first use, not at start), and a data dir
never initialised is refused with the fix."""

from __future__ import annotations

from pathlib import Path

import pykka
import pytest

from adapters.browser import BrowserEngine
from adapters.config import Settings
from adapters.egress import EgressGuard
from service.bootstrap import bootstrap
from service.runtime import NotInitializedError, backend_for, default_browser
from tests.helpers import add_cmd


def test_the_runtime_uses_the_given_store_and_makes_the_browser_on_first_use(
        data_dir: Path) -> None:
    made: list[tuple[Settings, EgressGuard]] = []

    def browser(settings: Settings, egress: EgressGuard) -> BrowserEngine:
        made.append((settings, egress))
        return default_browser(settings, egress)

    settings = Settings(data_dir=data_dir)
    store = backend_for(data_dir, settings)
    rt = bootstrap(data_dir, settings=settings, store=store, browser=browser)
    try:
        assert rt.store is store and rt.settings is settings
        assert rt.dispatcher.execute(add_cmd(3300)).id
        assert made == [], "no browser until a tab needs one"
        engine = rt.engine
        assert rt.engine is engine
        assert made == [(settings, rt.egress)]
    finally:
        rt.close()
        pykka.ActorRegistry.stop_all()


def test_a_data_dir_never_initialised_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotInitializedError, match="vipb init"):
        bootstrap(tmp_path / "nothing-here")
