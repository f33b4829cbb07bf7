"""Shared fixtures: isolate key sources and data dirs in tmp_path; build real runtimes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from scripts.fixtures.serp_site import SerpSite, serp_site
from scripts.fixtures.servers import WebhookReceiver, webhook_receiver
from service.bootstrap import bootstrap
from service.runtime import Runtime, initialize
from tests.helpers import Cli, cli_runner
from tests.pg import WHY_MISSING, PgCluster, find_bin_dir


@pytest.fixture(autouse=True)
def _isolated_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may see the developer's keyring, key env vars, config file or data dir."""
    monkeypatch.setenv("VIPB_KEYRING", "off")
    monkeypatch.delenv("VIPB_MASTER_KEY", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("VIPB_STORE", raising=False)  # the ``store`` fixture sets it
    monkeypatch.delenv("VIPB_STORE_PASSWORD", raising=False)
    monkeypatch.setenv("VIPB_DATA_DIR", str(tmp_path / "default-data"))
    config = tmp_path / "no-config.toml"  # nor ~/.config's: an empty file, the defaults
    config.touch(mode=0o600)
    monkeypatch.setenv("VIPB_CONFIG", str(config))
    # No test may reach the internet: health checks default to a dead loopback port.
    monkeypatch.setenv("VIPB_CHECK_URL", "http://127.0.0.1:9/get")


@pytest.fixture(autouse=True)
def _no_host_left_behind() -> Iterator[None]:
    """Every `vipb host run` a test started is gone after it (also on failure or timeout)."""
    yield
    from tests.hosts import kill_leftover_hosts

    kill_leftover_hosts()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL server for the session (skipped, with the reason, where the
    server binaries are missing; a failure instead where the suite must run them: CI)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("VIPB_TEST_REQUIRE_POSTGRES"):
            pytest.fail(WHY_MISSING)
        pytest.skip(WHY_MISSING)
    cluster = PgCluster(bin_dir)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped after the test)."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which backend ``data_dir`` uses: ``sqlite`` (default; ``VIPB_TEST_STORE`` changes the
    default) or ``postgresql`` (a fresh database, as ``VIPB_STORE`` for this process and the
    CLI processes it starts). Parametrize with ``BOTH_STORES``."""
    kind = getattr(request, "param", os.environ.get("VIPB_TEST_STORE", "sqlite"))
    if kind == "postgresql":
        monkeypatch.setenv("VIPB_STORE", request.getfixturevalue("pg_url"))
    return str(kind)


@pytest.fixture
def data_dir(tmp_path: Path, store: str) -> Path:
    """An initialised data dir on a real SQLite file (or PostgreSQL database: ``store``)."""
    root = tmp_path / "data"
    initialize(root)
    return root


@pytest.fixture
def runtime(data_dir: Path) -> Iterator[Runtime]:
    """A real runtime (store, projections, actors) on ``data_dir``."""
    rt = bootstrap(data_dir)
    yield rt
    rt.close()
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def cli(tmp_path: Path, store: str) -> Cli:
    """``cli("proxy", "list", input=...)`` runs vipb with an isolated data dir and key source
    (and the store of ``store``)."""
    return cli_runner(tmp_path / "data")


@pytest.fixture
def engine_site() -> Iterator[SerpSite]:
    """The local search engine (Google, Bing and DuckDuckGo-style pages on 127.0.0.1)."""
    with serp_site() as site:
        yield site


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    """A local webhook receiver (checks signatures)."""
    with webhook_receiver() as receiver:
        yield receiver
