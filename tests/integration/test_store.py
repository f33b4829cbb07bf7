"""The event store on a real SQLite file: encryption at rest, reload, keys and duplicates."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.secrets import load_master_key
from domain.commands import UpdateProxy
from domain.errors import DuplicateProxyError, SecurityError
from domain.parsing import parse_command
from domain.proxy import Proxy
from service.bootstrap import bootstrap
from service.runtime import Runtime, backend_for, initialize, master_key_for, open_store
from tests.helpers import add_cmd
from tests.pg import BOTH_STORES, stored_containing


def _all_at_once(count: int, work: Callable[[int], object]) -> list[Exception]:
    """Run ``work(i)`` in ``count`` threads released together; the errors they raised."""
    barrier = threading.Barrier(count)
    errors: list[Exception] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@BOTH_STORES
def test_no_file_holds_credentials_in_plain_text(runtime: Runtime, data_dir: Path) -> None:
    ack = runtime.dispatcher.execute(add_cmd(3128, "alice-user", "Pa55-secret-xyz"))
    runtime.dispatcher.execute(parse_command(UpdateProxy, {
        "proxy_id": ack.id, "password": "N3w-secret-abc"}))
    runtime.settle()
    for needle in (b"Pa55-secret-xyz", b"N3w-secret-abc", b"alice-user"):
        assert stored_containing(data_dir, needle) == []
    # ...while the aggregate still reads them back through the data key
    proxy = runtime.app.repository.get(uuid.UUID(ack.id))
    assert isinstance(proxy, Proxy)
    assert (proxy.username, proxy.password) == ("alice-user", "N3w-secret-abc")


@BOTH_STORES
def test_state_survives_reopen(data_dir: Path) -> None:
    with bootstrap(data_dir) as rt:
        ack = rt.dispatcher.execute(add_cmd(3128, "u", "p"))
    with bootstrap(data_dir) as rt:
        assert rt.pool.proxy_ids().get() == [ack.id]
        rt.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": ack.id, "port": 3129}))
        rt.settle()
        with rt.reader() as conn:
            assert [tuple(r) for r in conn.execute("SELECT port FROM proxies")] == [(3129,)]


@BOTH_STORES
def test_duplicates_are_refused_by_protocol_host_port_and_username(runtime: Runtime) -> None:
    runtime.dispatcher.execute(add_cmd(3128, "u", "p"))
    with pytest.raises(DuplicateProxyError):
        runtime.dispatcher.execute(add_cmd(3128, "u", "other-password"))
    runtime.dispatcher.execute(add_cmd(3128, "v", "p"))  # other username
    runtime.dispatcher.execute(add_cmd(3128))  # no username
    runtime.dispatcher.execute(add_cmd(3128, protocol="socks5"))
    assert len(runtime.pool.proxy_ids().get()) == 4


@BOTH_STORES
def test_update_onto_a_taken_endpoint_is_refused_and_changes_nothing(runtime: Runtime) -> None:
    a = runtime.dispatcher.execute(add_cmd(3128))
    b = runtime.dispatcher.execute(add_cmd(3129))
    head = runtime.app.recorder.max_notification_id()
    with pytest.raises(DuplicateProxyError):
        runtime.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": b.id, "port": 3128}))
    assert runtime.app.recorder.max_notification_id() == head
    # the refused update left the actor's aggregate clean: a later valid update still works
    runtime.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": b.id, "port": 3130}))
    runtime.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": a.id, "port": 3129}))


@BOTH_STORES
def test_removed_endpoint_can_be_added_again(runtime: Runtime) -> None:
    from domain.commands import RemoveProxy

    first = runtime.dispatcher.execute(add_cmd(3128, "u", "p"))
    runtime.dispatcher.execute(parse_command(RemoveProxy, {"proxy_id": first.id}))
    again = runtime.dispatcher.execute(add_cmd(3128, "u", "p"))
    assert again.id != first.id


@BOTH_STORES
def test_concurrent_adds_of_one_endpoint_from_two_runtimes_admit_exactly_one(
    data_dir: Path,
) -> None:
    rts = [bootstrap(data_dir), bootstrap(data_dir)]
    outcomes: list[str] = []

    def add(i: int) -> None:
        try:
            rts[i].dispatcher.execute(add_cmd(8080, "same", "pw"))
            outcomes.append("ok")
        except DuplicateProxyError:
            outcomes.append("duplicate")

    errors = _all_at_once(2, add)
    for rt in rts:
        rt.close()
    assert errors == []
    assert sorted(outcomes) == ["duplicate", "ok"]


@BOTH_STORES
def test_wrong_master_key_is_refused(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIPB_MASTER_KEY", "A" * 43 + "=")
    with pytest.raises(SecurityError, match="does not match"):
        bootstrap(data_dir)


@BOTH_STORES
def test_key_file_with_wide_mode_is_refused(data_dir: Path) -> None:
    os.chmod(data_dir / "master.key", 0o644)
    with pytest.raises(SecurityError, match="chmod 600"):
        load_master_key(data_dir)


def test_env_key_source_wins_and_init_creates_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    monkeypatch.setenv("VIPB_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    master, created = initialize(tmp_path / "d")
    assert created and master.source == "env:VIPB_MASTER_KEY"
    assert not (tmp_path / "d" / "master.key").exists()
    assert oct((tmp_path / "d").stat().st_mode & 0o777) == "0o700"


def test_systemd_credential_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "vipb-master-key").write_text(base64.b64encode(b"s" * 32).decode())
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.setenv("VIPB_MASTER_KEY", base64.b64encode(b"e" * 32).decode())
    key = load_master_key(tmp_path)
    assert key is not None and key.key == b"s" * 32 and key.source == "systemd-credential"
    assert "sss" not in repr(key)


@BOTH_STORES
def test_concurrent_updates_of_one_proxy_are_all_recorded_in_order(runtime: Runtime) -> None:
    proxy_id = runtime.dispatcher.execute(add_cmd(6000)).id
    acks: list[int] = []

    def hammer(worker: int) -> None:
        for i in range(40):
            ack = runtime.dispatcher.execute(parse_command(UpdateProxy, {
                "proxy_id": proxy_id, "weight": 2 + (worker * 40 + i) % 900}))
            acks.append(ack.position)

    assert _all_at_once(6, hammer) == []
    stored = runtime.app.recorder.select_events(uuid.UUID(proxy_id))
    versions = [e.originator_version for e in stored]
    assert versions == list(range(1, len(versions) + 1))  # no gap, no duplicate
    changed = [a for a in acks if a]
    assert len(set(changed)) == len(changed) and len(versions) == 1 + len(changed)
    reloaded = runtime.app.repository.get(uuid.UUID(proxy_id))
    assert reloaded.version == len(versions)


@BOTH_STORES
def test_a_conflicting_writer_is_reported_and_the_actor_recovers(data_dir: Path) -> None:
    from domain.errors import ConcurrencyError

    first = bootstrap(data_dir)
    proxy_id = first.dispatcher.execute(add_cmd(6100)).id
    first.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id, "weight": 2}))
    second = bootstrap(data_dir)  # e.g. a CLI process started while the first one runs
    try:
        # another process changes the same proxy behind the first one's back
        second.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                               "weight": 3}))
        with pytest.raises(ConcurrencyError):
            first.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                                  "weight": 4}))
        ack = first.dispatcher.execute(parse_command(UpdateProxy, {"proxy_id": proxy_id,
                                                                    "weight": 5}))
        assert ack.changed
        versions = [e.originator_version
                    for e in first.app.recorder.select_events(uuid.UUID(proxy_id))]
        assert versions == [1, 2, 3, 4]
        assert first.app.repository.get(uuid.UUID(proxy_id)).weight == 5
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_host_carries_on_after_the_server_ends_every_session(runtime: Runtime,
                                                                pg_url: str) -> None:
    """A database restart or failover ends every session: the next commands reconnect
    (the one in flight may fail and is not acknowledged; nothing is written twice)."""
    import contextlib

    import psycopg

    from domain.errors import DatabaseError

    first = runtime.dispatcher.execute(add_cmd(3128, "u", "p"))
    runtime.settle()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                              ).fetchone()
    assert ended is not None and ended[0] >= 3  # committer, views, keys (and readers)
    acked = []
    for port in (3129, 3130, 3131):
        # the command in flight when the session ended may fail: not acknowledged
        with contextlib.suppress(DatabaseError):
            acked.append(runtime.dispatcher.execute(add_cmd(port, "u", "p")).id)
    assert len(acked) >= 2
    runtime.settle()
    with runtime.reader() as conn:
        listed = {r[0] for r in conn.execute("SELECT id FROM proxies")}
    assert listed == {first.id, *acked}
    assert runtime.keystore.get(uuid.UUID(first.id)) is not None
    proxy = runtime.app.repository.get(uuid.UUID(acked[-1]))
    assert proxy.password == "p"


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_hosts_starting_at_once_all_open_the_store(data_dir: Path) -> None:
    # Opening the store runs the event recorder's DDL (CREATE OR REPLACE FUNCTION among it);
    # two sessions doing that at once fail in PostgreSQL's catalog ("tuple concurrently
    # updated") unless they take turns. Hosts started together by systemd do exactly this.
    store = backend_for(data_dir)
    master = master_key_for(data_dir, store)
    opened: list[tuple[Any, ...]] = []
    for _ in range(3):
        errors = _all_at_once(6, lambda i: opened.append(open_store(store, master)))
        for keystore, app, _audit in opened:
            app.close()
            keystore.close()
        opened.clear()
        assert errors == []


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_hosts_initialized_at_once_share_one_store(
        tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    monkeypatch.setenv("VIPB_MASTER_KEY", base64.b64encode(b"c" * 32).decode())
    results: list[bool] = []
    errors = _all_at_once(3, lambda i: results.append(initialize(tmp_path / f"host{i}")[1]))
    assert errors == []
    assert sorted(results) in ([False, False, True], [False, True, True], [True, True, True])
    rt = bootstrap(tmp_path / "host0")
    try:
        assert rt.dispatcher.execute(add_cmd(7000)).id
    finally:
        rt.close()


def test_a_read_cut_inside_its_transaction_leaves_every_pooled_connection_usable(
        runtime: Runtime) -> None:
    """Ctrl-C (or any exception) can land after eventsourcing's ``BEGIN`` and before the code
    that would end the transaction: the connection went back to the pool inside it, and every
    later read on it failed "cannot start a transaction within a transaction" (an in-process
    `rank run` interrupted while reading exited 1 instead of 130)."""
    runtime.dispatcher.execute(add_cmd(3129))
    head = runtime.app.recorder.max_notification_id()
    datastore = runtime.app.recorder.datastore
    with pytest.raises(KeyboardInterrupt), datastore.get_connection(commit=False) as conn:
        conn.cursor().execute("BEGIN")  # as eventsourcing's transaction starts; then the signal
        raise KeyboardInterrupt
    for _ in range(3):  # the pool hands that connection out again: it reads
        assert runtime.app.recorder.max_notification_id() == head
    runtime.dispatcher.execute(add_cmd(3130))  # and writes
    assert runtime.app.recorder.max_notification_id() > head
