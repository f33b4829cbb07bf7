"""Chromium inherits no secret (issue 31, point 8): it is started with a minimal
environment, so /proc/<browser>/environ holds neither the store password nor anything else
the host was given; the sandbox runs wherever the host does not run as root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.browser import sandbox_possible
from scripts.proctree import descendants
from service.runtime import Runtime
from tests.helpers import call

SECRET = "s3cr3t-store-password-9c1f"


def _chromium_environments() -> list[bytes]:
    """The environments of the Chromium processes under this one."""
    found = []
    for child in descendants(os.getpid()):
        try:
            if "chrom" in Path(f"/proc/{child}/comm").read_text():
                found.append(Path(f"/proc/{child}/environ").read_bytes())
        except OSError:
            continue
    return found


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIPB_STORE_PASSWORD", SECRET)
    monkeypatch.setenv("SOME_API_TOKEN", SECRET)


def test_chromium_starts_without_the_hosts_secrets(secret_env: None, browser_runtime: Runtime,
                                                   site) -> None:
    tab = call(browser_runtime, "tab:create", url=site.url("/"), proxy="direct")
    environments = _chromium_environments()
    call(browser_runtime, "tab:close", tab_id=tab["id"])
    assert environments, "Chromium runs under this process"
    assert not [e for e in environments if SECRET.encode() in e]
    assert any(b"PATH=" in e for e in environments), "what it needs to run is there"


def test_the_sandbox_is_used_unless_root_or_namespaces_are_off() -> None:
    if os.geteuid() == 0:
        assert sandbox_possible() is False  # Chromium refuses its sandbox as root
    else:
        off = Path("/proc/sys/kernel/unprivileged_userns_clone")
        expected = not (off.exists() and off.read_text().strip() == "0")
        assert sandbox_possible() is expected
