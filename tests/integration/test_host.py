"""The host's control socket: permissions, envelopes, rate limits, streaming, and clients
that misbehave. A real host (runtime, SQLite files, socket) in this process."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.config import Settings
from adapters.control import MAX_MESSAGE_BYTES, ControlClient
from service.bootstrap import bootstrap
from service.host import Host


@pytest.fixture
def host(data_dir: Path) -> Iterator[Host]:
    h = Host(data_dir, Settings(data_dir=data_dir))
    h.start()
    yield h
    h.close()
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def resumed_host(host: Host) -> Host:
    """``host`` once its start's background work is done: Playwright's driver, which it
    starts then, draws from the global ``random``, and hypothesis takes a draw from it
    meanwhile for the strategy's own (a deprecation warning today, an error to come)."""
    assert host.wait_resumed(120), "the host's start did not finish"
    return host


def raw(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(str(path))
    return s


def exchange(s: socket.socket, line: bytes) -> dict:
    s.sendall(line)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        assert chunk, "the host closed the connection without a reply"
        data += chunk
    return json.loads(data)


def add(port: int) -> dict:
    return {"channel": "proxy:add",
            "payload": {"protocol": "http", "host": "127.0.0.1", "port": port}}


def test_socket_is_owner_only(host: Host) -> None:
    mode = stat.S_IMODE(os.stat(host.paths.socket).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(host.paths.root).st_mode) & 0o077 == 0


SYSTEM_PYTHON = "/usr/bin/python3"  # readable by other users, unlike a venv under /root


@pytest.mark.skipif(os.getuid() != 0 or not os.path.exists(SYSTEM_PYTHON),
                    reason="needs root (to act as another user) and /usr/bin/python3")
def test_another_user_cannot_connect(host: Host) -> None:
    code = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
            f"try:\n s.connect({str(host.paths.socket)!r})\nexcept PermissionError:\n"
            " sys.exit(3)\nsys.exit(0)")
    proc = subprocess.run([SYSTEM_PYTHON, "-c", code], user=65534, check=False,
                          capture_output=True, cwd="/")
    assert proc.returncode == 3, proc.stderr


def test_commands_and_reply_envelopes(host: Host) -> None:
    with ControlClient(host.paths.socket) as client:
        ok = client.call("proxy:add", add(8001)["payload"])
        assert ok["success"] is True and ok["data"]["position"] > 0
        assert client.call("proxy:list")["data"][0]["port"] == 8001
        bad = client.call("proxy:add", {"protocol": "gopher", "host": "h", "port": 1})
        assert bad == {"success": False, "code": "validation_error",
                       "error": "protocol: Input should be 'http', 'https', 'socks4' or 'socks5'",
                       "details": {"field": "protocol"}}
        unknown = client.call("proxy:explode", {})
        assert unknown["success"] is False and unknown["error"].startswith("channel: unknown")
        status = client.call("host:status")["data"]
        assert status["pid"] == os.getpid() and status["proxies"] == {"unknown": 1}


def test_rate_limits_per_channel(host: Host) -> None:
    with ControlClient(host.paths.socket) as client:
        replies = [client.call("proxy:add", add(9000 + n)["payload"]) for n in range(11)]
        assert [r["success"] for r in replies] == [True] * 10 + [False]
        limited = replies[-1]
        assert limited["code"] == "rate_limited" and 0 < limited["retryAfter"] <= 60
        assert client.call("proxy:list")["success"] is True  # other channels unaffected
    with ControlClient(host.paths.socket) as again:  # reconnecting does not reset the limit
        assert again.call("proxy:add", add(9100)["payload"])["code"] == "rate_limited"
    host.runtime.settle()
    with host.runtime.reader() as conn:
        assert conn.execute("SELECT COUNT(*) FROM proxies").fetchone()[0] == 10


def test_rate_limits_of_the_automation_channels(host: Host) -> None:
    with ControlClient(host.paths.socket) as client:
        schedules = [client.call("automation:schedule", {"name": f"s{n}", "cron": "0 6 * * *"})
                     for n in range(11)]
        assert [r["success"] for r in schedules] == [True] * 10 + [False]
        assert schedules[-1]["code"] == "rate_limited"
        searches = [client.call("automation:start-search", {}) for _ in range(6)]
        assert [r["code"] for r in searches] == ["automation_error"] * 5 + ["rate_limited"], \
            "refused searches count too: a runaway script is held back either way"
        assert client.call("automation:list-schedules")["success"]  # not limited
        status = client.call("host:status")["data"]
        assert len(status["next_schedules"]) == 5 and status["searches"] == {
            "queued": 0, "running": 0}
        assert status["creator_checks"] == 0
    host.runtime.settle()
    with host.runtime.reader() as conn:
        assert conn.execute("SELECT COUNT(*) FROM schedules").fetchone()[0] == 10


def test_malformed_and_oversize_messages(host: Host) -> None:
    s = raw(host.paths.socket)
    assert exchange(s, b"not json\n")["error"].startswith("message: not valid JSON (")
    assert exchange(s, b'{"channel": "proxy:list", "extra": 1}\n')["error"].startswith("extra:")
    assert exchange(s, b'{"channel": "no-colon"}\n')["error"].startswith("channel:")
    assert exchange(s, b'[1, 2]\n')["error"].startswith("payload:")
    reply = exchange(s, b'{"channel": "proxy:list", "id": 41}\n')
    assert reply["success"] and reply["id"] == 41
    huge = b'{"channel": "proxy:list", "payload": {"x": "' + b"a" * MAX_MESSAGE_BYTES + b'"}}\n'
    oversize = exchange(s, huge)
    assert oversize["success"] is False and "larger than" in oversize["error"]
    assert s.recv(10) == b""  # and the connection is closed
    s.close()
    with ControlClient(host.paths.socket) as client:  # the host is fine
        assert client.call("proxy:list")["success"]


def test_hostile_json_gets_a_one_line_error_and_keeps_the_connection(
        host: Host, caplog: pytest.LogCaptureFixture) -> None:
    """Deep nesting, integers beyond 64 bits and JSON-lax types: each one is refused with a
    reply naming the field, the connection stays usable, and nothing reaches the log."""
    s = raw(host.paths.socket)
    deep = b'{"channel": "proxy:list", "payload": {"x": ' + b"[" * 100_000 + b"]" * 100_000
    with caplog.at_level("WARNING"):
        assert "depth limit" in exchange(s, deep + b"}}\n")["error"]
        big_id = exchange(s, b'{"channel": "proxy:list", "id": 123456789012345678901234567890}\n')
        assert big_id["error"].startswith("id"), big_id
        for field, value in [("port", b"true"), ("port", b'"8080"'), ("port", b"8080.0"),
                             ("port", b"123456789012345678901234567890"),
                             ("host", b"1234"), ("protocol", b"1")]:
            payload = {"protocol": b'"http"', "host": b'"127.0.0.1"', "port": b"8080"}
            payload[field] = value
            body = b", ".join(b'"%s": %s' % (k.encode(), v) for k, v in payload.items())
            reply = exchange(s, b'{"channel": "proxy:add", "payload": {' + body + b"}}\n")
            assert reply["success"] is False and reply["error"].startswith(f"{field}:"), reply
        ok = exchange(s, b'{"channel": "proxy:add", "payload": {"protocol": "http", '
                         b'"host": "127.0.0.1", "port": 8080}, "id": 9}\n')
        assert ok["success"] and ok["id"] == 9, ok
    s.close()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")
                or r.exc_info], caplog.text
    host.runtime.settle()
    with host.runtime.reader() as conn:
        assert [tuple(r) for r in conn.execute("SELECT port FROM proxies")] == [(8080,)]


def test_slow_or_silent_clients_do_not_stall_others(host: Host) -> None:
    silent = raw(host.paths.socket)  # connects and says nothing
    partial = raw(host.paths.socket)
    partial.sendall(b'{"channel": "proxy:li')  # half a request, never finished
    flood = raw(host.paths.socket)
    for _ in range(50):  # requests whose replies it never reads
        flood.sendall(b'{"channel": "proxy:list"}\n')
    with ControlClient(host.paths.socket) as client:
        for n in range(5):
            assert client.call("proxy:add", add(7000 + n)["payload"])["success"]
    for s in (silent, partial, flood):
        s.close()


def test_events_follow_streams_new_commits(host: Host) -> None:
    got: list[dict] = []
    ready = threading.Event()

    def follow() -> None:
        with ControlClient(host.paths.socket) as client:
            for message in client.stream("events:follow"):
                if "event" not in message:
                    ready.set()
                    continue
                got.append(message["event"])
                if len(got) == 2:
                    return

    reader = threading.Thread(target=follow)
    reader.start()
    assert ready.wait(30)
    with ControlClient(host.paths.socket) as client:
        position = client.call("proxy:add", add(6001)["payload"])["data"]["position"]
    reader.join(30)
    assert sorted(e["event"] for e in got) == ["EndpointRegistered", "ProxyAdded"]
    assert max(e["notification_id"] for e in got) == position


def test_events_follow_sends_only_the_named_events(host: Host) -> None:
    """A client waiting for one kind of event (`rank run` waits for task endings) is sent
    those only, and in order; the others are skipped by the host, not the client."""
    with ControlClient(host.paths.socket) as client:
        after = client.call("proxy:add", add(6101)["payload"])["data"]["position"]
        last = client.call("proxy:add", add(6102)["payload"])["data"]["position"]
        client.call("proxy:add", add(6103)["payload"])
    with ControlClient(host.paths.socket) as client:
        stream = client.stream("events:follow", {"after": 0, "events": ["ProxyAdded"]})
        assert next(stream)["data"] == {"following_from": 0}
        got = [next(stream)["event"] for _ in range(3)]
    assert {e["event"] for e in got} == {"ProxyAdded"}  # EndpointRegistered are not sent
    ids = [e["notification_id"] for e in got]
    assert ids == sorted(ids) and ids[0] < after <= ids[1] <= last < ids[2]


@pytest.mark.parametrize("events", [[], "ProxyAdded", [1], ["Proxy Added"], ["x" * 81],
                                    ["A"] * 101, {"a": 1}, ["proxy_added"], ["P" * 65]])
def test_events_follow_refuses_a_bad_events_filter_in_one_line(host: Host,
                                                               events: object) -> None:
    with ControlClient(host.paths.socket) as client:
        [reply] = list(client.stream("events:follow", {"events": events}))
    assert reply["success"] is False
    assert reply["error"] == ("events: must be a list of 1 to 100 event names "
                              "(like SearchTaskCompleted)")


def test_events_follow_refuses_an_event_name_nothing_has(host: Host) -> None:
    """A misspelt name would match nothing for ever: the script is told at once."""
    with ControlClient(host.paths.socket) as client:
        [reply] = list(client.stream("events:follow",
                                     {"events": ["ProxyAdded", "SearchTaskComplete"]}))
    assert reply == {"success": False, "code": "validation_error",
                     "error": "events: no event is called 'SearchTaskComplete'"}


@pytest.mark.parametrize("after", [2**63, 2**63 + 12345, -1, True, "12", 1.5])
def test_events_follow_refuses_an_after_out_of_range_in_one_line(
        host: Host, caplog: pytest.LogCaptureFixture, after: object) -> None:
    """Issue 31, point 9: ``after`` = 2^63 was accepted, then crashed the stream with an
    ``OverflowError`` traceback in the log."""
    with caplog.at_level("WARNING"):
        with ControlClient(host.paths.socket) as client:  # a stream ends its connection
            [reply] = list(client.stream("events:follow", {"after": after}))
        assert reply["success"] is False
        assert reply["error"] == "after: must be a notification id from 0 to 2^63-1"
        with ControlClient(host.paths.socket) as client:
            assert client.call("proxy:list")["success"], "the host still serves"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")
                or r.exc_info], caplog.text


envelopes = st.one_of(
    st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" ")),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.sampled_from(["channel", "payload", "id", "x"])
                                   | st.text(max_size=8), inner, max_size=4),
                 max_leaves=12).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"channel": st.sampled_from(
        ["proxy:add", "proxy:list", "tab:navigate", "host:status", "x:y", "proxy:update",
         "automation:schedule", "automation:add-domain", "automation:stop-search",
         "automation:get-tasks"]),
        "payload": st.dictionaries(st.text(max_size=10), st.text(max_size=10) | st.integers(),
                                   max_size=4)}).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(envelopes, min_size=1, max_size=5))
def test_fuzzed_envelopes_get_one_envelope_each(resumed_host: Host,
                                                lines: list[bytes]) -> None:
    s = raw(resumed_host.paths.socket)
    try:
        for line in lines:
            reply = exchange(s, line + b"\n")
            assert isinstance(reply["success"], bool)
            if not reply["success"]:
                assert "\n" not in reply["error"] and reply["code"]
    finally:
        s.close()


def test_backup_while_the_host_runs_and_restore(host: Host, tmp_path: Path) -> None:
    from adapters.backup import restore_backup

    with ControlClient(host.paths.socket) as client:
        for n in range(3):
            assert client.call("proxy:add", add(5100 + n)["payload"])["success"]
        backup = client.call("host:backup", {"dest": str(tmp_path / "b1")})
        assert backup["success"], backup
        assert client.call("proxy:add", add(5200)["payload"])["success"]  # after the copy
        relative = client.call("host:backup", {"dest": "relative/path"})
        assert relative["error"] == "dest: must be an absolute path"
    manifest = backup["data"]
    assert manifest["store_head"] == 6 and "master.key" not in manifest["files"]
    assert stat.S_IMODE(os.stat(tmp_path / "b1" / "events.sqlite").st_mode) == 0o600
    restored = tmp_path / "restored"
    (restored).mkdir(mode=0o700)
    (restored / "master.key").write_bytes((host.paths.root / "master.key").read_bytes())
    os.chmod(restored / "master.key", 0o600)
    result = restore_backup(tmp_path / "b1", restored)
    assert result["store_head"] == 6
    rt = bootstrap(restored)
    try:
        rt.settle()
        with rt.reader() as conn:
            ports = [r[0] for r in conn.execute("SELECT port FROM proxies ORDER BY port")]
        assert ports == [5100, 5101, 5102]  # as of the backup
        assert rt.audit.verify(rt.app.recorder).ok
    finally:
        rt.close()
    damaged = tmp_path / "b1" / "keys.sqlite"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    with pytest.raises(Exception, match=r"keys\.sqlite in the backup is damaged"):
        restore_backup(tmp_path / "b1", tmp_path / "other")


def test_metrics_on_loopback(data_dir: Path) -> None:
    """Issue 31, point 10: the keywords, domains and positions in the metrics were served to
    every local user; only a request bearing the token in the 0600 file is answered now."""
    import stat
    import urllib.error
    import urllib.request

    from scripts.fixtures.servers import free_port

    port = free_port()
    h = Host(data_dir, Settings(data_dir=data_dir), metrics_port=port)
    h.start()
    try:
        with ControlClient(h.paths.socket) as client:
            client.call("proxy:add", add(5300)["payload"])
            client.call("host:settle")
        url = f"http://127.0.0.1:{port}/metrics"
        with pytest.raises(urllib.error.HTTPError) as refused:  # another local user
            urllib.request.urlopen(url, timeout=10)
        forged = urllib.request.Request(url, headers={"Authorization": "Bearer guess"})
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(forged, timeout=10)
        token = (data_dir / "metrics.token").read_text().strip()
        assert stat.S_IMODE((data_dir / "metrics.token").stat().st_mode) == 0o600
        bearer = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        text = urllib.request.urlopen(bearer, timeout=10).read()
    finally:
        h.close()
        pykka.ActorRegistry.stop_all()
    assert refused.value.code == 401 and wrong.value.code == 401
    assert b"vipb_" not in refused.value.read(), "nothing of the data without the token"
    body = text.decode()
    assert "vipb_up 1.0" in body
    assert 'vipb_proxies{status="unknown"} 1.0' in body
    assert 'vipb_projection_lag{view="proxies"} 0.0' in body
    assert "vipb_store_head 2.0" in body
    assert 'vipb_search_tasks{state="running"} 0.0' in body
    assert "vipb_allow_private_targets 0.0" in body


def test_a_host_with_the_private_address_allowance_says_so(
        data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    from service.metrics import HostCollector

    with caplog.at_level("WARNING", logger="service.host"):
        h = Host(data_dir, Settings(data_dir=data_dir, allow_private_targets=True))
        h.start()
    try:
        status = h.status()
        metrics = {m.name: m.samples[0].value
                   for m in HostCollector(h.status, lambda: 0, h.started).collect()
                   if m.samples}
    finally:
        h.close()
        pykka.ActorRegistry.stop_all()
    assert "allow_private_targets is on" in caplog.text
    assert status["egress"] == {"allow_private_targets": True, "allowed": []}
    assert metrics["vipb_allow_private_targets"] == 1


def test_a_host_closed_while_it_resumes_waits_for_the_resume(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The soak crashed the test process (a segfault in SQLite): a host closed right after
    it started closed the store under its resume thread, which was still settling the views.
    Here the resume is held at its first step while the host closes."""
    import threading

    from service.runtime import Runtime

    entered, release = threading.Event(), threading.Event()
    seen: list[object] = []
    real = Runtime.resume_tabs

    def held(self: Runtime) -> list[str]:
        entered.set()
        assert release.wait(120)
        seen.append(self.app.recorder.max_notification_id())  # the store is still open
        return real(self)

    monkeypatch.setattr(Runtime, "resume_tabs", held)
    h = Host(data_dir, Settings(data_dir=data_dir))
    h.start()
    assert entered.wait(60)
    closer = threading.Thread(target=h.close)
    closer.start()
    closer.join(timeout=5)  # the old close did not wait: it had closed the store by now
    assert closer.is_alive() and h.closing == "waiting for the resume of open tabs and " \
        "schedules", "close waits for the resume"
    release.set()
    closer.join(120)
    assert not closer.is_alive() and seen == [None], seen
    pykka.ActorRegistry.stop_all()


def test_systemd_hears_ready_after_the_socket_listens_then_pings_then_stopping(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Type=notify: a real datagram socket stands in for systemd's."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(60)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # pings every 0.1 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    h = Host(data_dir, Settings(data_dir=data_dir))
    starting = threading.Thread(target=h.start)
    starting.start()
    try:
        ready = listener.recv(4096).decode().split("\n")
        assert ready[0] == "READY=1" and f"MAINPID={os.getpid()}" in ready
        # at once, while start() may still be returning: ready means the socket answers
        with ControlClient(h.paths.socket) as client:
            assert client.call("host:status")["data"]["host"] == "running"
        assert listener.recv(4096) == b"WATCHDOG=1"
        assert listener.recv(4096) == b"WATCHDOG=1", "pings go on while the host answers"
    finally:
        starting.join()
        h.close()
        pykka.ActorRegistry.stop_all()
    messages = []
    while not messages or not messages[-1].startswith("STOPPING=1"):
        messages.append(listener.recv(4096).decode())
    assert set(messages[:-1]) <= {"WATCHDOG=1"}
    listener.close()


def test_without_systemd_or_for_another_pid_nothing_is_sent(tmp_path: Path) -> None:
    from adapters.service_notify import ServiceNotifier

    assert ServiceNotifier({}).watchdog_interval is None
    other = ServiceNotifier({"NOTIFY_SOCKET": str(tmp_path / "n"), "WATCHDOG_USEC": "30000000",
                             "WATCHDOG_PID": str(os.getpid() + 1)})
    assert other.watchdog_interval is None, "the watchdog is another process's"
    mine = ServiceNotifier({"WATCHDOG_USEC": "30000000"})
    assert mine.watchdog_interval == 15.0
    mine.ready("x")  # no NOTIFY_SOCKET: nothing to send to, and no error


def test_metrics_on_another_address_and_never_on_every_network(data_dir: Path) -> None:
    """Issue 32, point 14: a bind address (one of this machine's, never a wildcard), and the
    commit count is a counter."""
    import urllib.error
    import urllib.request

    from domain.errors import ValidationError
    from scripts.fixtures.servers import free_port

    for wildcard in ("0.0.0.0", "::", "[::]"):
        with pytest.raises(ValidationError, match=r"^metrics_bind: .* every network"):
            Host(data_dir, Settings(data_dir=data_dir), metrics_port=1, metrics_bind=wildcard)
    with pytest.raises(ValidationError, match=r"^metrics_bind: 'localhost' is not an IP"):
        Host(data_dir, Settings(data_dir=data_dir), metrics_port=1, metrics_bind="localhost")
    port = free_port()
    h = Host(data_dir, Settings(data_dir=data_dir), metrics_port=port,
             metrics_bind="127.0.0.2")
    h.start()
    try:
        token = (data_dir / "metrics.token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}
        body = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.2:{port}/metrics", headers=auth), timeout=10).read().decode()
        with pytest.raises(urllib.error.URLError):  # not on the other loopback address
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/metrics", headers=auth), timeout=10)
    finally:
        h.close()
        pykka.ActorRegistry.stop_all()
    assert "# TYPE vipb_commit_transactions_total counter" in body
    assert "vipb_commit_transactions_total " in body
