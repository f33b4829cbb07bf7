"""Ctrl-C in any long command says so and ends it (issue 30, point 8): typer turned an
interrupt into a silent exit 130, so a user could not tell a stopped `proxy validate` (or
creator check, or rebuild) from one that ended; and the process then waited out the checks
in flight (their timeout, up to two minutes) before it exited."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from scripts.fixtures.servers import echo_server
from tests.helpers import ENTRY, Cli


def _interruptible() -> None:
    """In the child: SIGINT as at a terminal (a pytest-xdist worker ignores it, and a child
    inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_a_long_command_ends_it_with_one_line_and_exit_130(
        cli: Cli, tmp_path: Path) -> None:
    env = {**os.environ, "VIPB_DATA_DIR": str(tmp_path / "data"), "VIPB_KEYRING": "off",
           "VIPB_ALLOW_PRIVATE_TARGETS": "1"}
    env.pop("VIPB_MASTER_KEY", None)
    assert cli("init").code == 0
    # a proxy that takes the connection and never answers: the validation waits on it
    with echo_server() as check_url, socket.create_server(("127.0.0.1", 0)) as stalling:
        port = stalling.getsockname()[1]
        assert cli("proxy", "add", f"http://127.0.0.1:{port}").code == 0
        process = subprocess.Popen(
            [*ENTRY, "proxy", "validate", "--all", "--timeout", "120"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**env, "VIPB_CHECK_URL": check_url}, preexec_fn=_interruptible)
        try:
            stalling.settimeout(120)
            held, _ = stalling.accept()  # the validation reached the proxy and waits
            with held:
                process.send_signal(signal.SIGINT)
                # the check in flight is abandoned (its connection closed), not waited out
                held.settimeout(100)
                while held.recv(65536):  # (the check's request, then the end)
                    pass
                _out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, err
    said = err.strip().splitlines()
    assert said and said[-1].endswith("interrupted (what was done before it is on record)"), \
        f"a silent exit: {err!r}"
    assert "Traceback" not in err
