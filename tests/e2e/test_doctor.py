"""`vipb doctor` on real parts: a fresh install with a reachable check URL and a live proxy
passes (warnings allowed); each thing a user breaks (data dir mode, key file mode, a lost key,
Chromium, the check URL, the proxies, the config file) fails its own line with a fix, exit 1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scripts.fixtures.servers import echo_server, free_port, geo_echo_server, pproxy
from tests.helpers import HAVE_CHROMIUM, Cli

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM and not os.environ.get("CI"),
                                reason="no Chromium (apt-get install chromium)")


def _by_name(checks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in checks}


def test_a_fresh_install_passes_and_each_breakage_fails_its_own_line(
        cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with echo_server() as url, pproxy("http") as proxy:
        env = {"VIPB_CHECK_URL": url, "VIPB_ALLOW_PRIVATE_TARGETS": "true"}
        before = cli("doctor", "--json", **env)
        assert before.code == 0, before.out  # nothing initialised yet: warnings, no failure
        first = _by_name(before.json())
        assert first["data-dir"]["status"] == "warn" and "init" in first["data-dir"]["fix"]

        assert cli("init").code == 0
        assert cli("proxy", "add", f"http://127.0.0.1:{proxy.port}").code == 0
        healthy = cli("doctor", "--json", **env)
        assert healthy.code == 0, healthy.out
        checks = _by_name(healthy.json())
        assert [c for c in checks.values() if c["status"] == "fail"] == []
        assert set(checks) >= {"config", "data-dir", "master-key", "disk", "chromium",
                               "fonts", "egress", "check-url", "proxies", "host"}
        assert checks["master-key"]["detail"].startswith("from file:")
        assert checks["chromium"]["status"] == "ok"
        assert checks["check-url"]["status"] == "ok"
        assert "names no exit country" in checks["check-url"]["detail"]  # httpbin-style
        with geo_echo_server("SE") as geo:
            told = _by_name(cli("doctor", "--json", **{**env, "VIPB_CHECK_URL": geo}).json())
        assert "names exit countries (here: SE)" in told["check-url"]["detail"]
        assert checks["proxies"]["detail"] == "all 1 accept connections"
        assert checks["egress"]["status"] == "warn"  # private targets on: labs only
        human = cli("doctor", **env)
        assert human.code == 0 and human.out.splitlines()[0].startswith("ok    config")
        assert checks["alerts"]["detail"] == "no rules (vipb alert add)"
        secret = tmp_path / "secret"
        secret.write_text("a-webhook-secret-of-32-characters")
        assert cli("alert", "add", "r", "stops-ranking", "--webhook",
                   f"http://127.0.0.1:{free_port()}/hook", "--secret-file", str(secret),
                   **env).code == 0
        assert cli("alert", "test", "r", **env).code == 1  # nothing listens there
        undelivered = cli("doctor", "--json", **env)
        assert undelivered.code == 0, undelivered.out  # a warning, not a failure
        alerts = _by_name(undelivered.json())["alerts"]
        assert (alerts["status"], alerts["detail"]) == ("warn", "1 rule(s); 1 failed")
        assert alerts["fix"].startswith("vipb alert history")

        def broken(name: str, **extra: str) -> dict[str, Any]:
            result = cli("doctor", "--json", **{**env, **extra})
            assert result.code == 1, (name, result.out)
            found = _by_name(result.json())[name]
            assert found["status"] == "fail" and found["fix"], found
            failed = [c["name"] for c in result.json() if c["status"] == "fail"]
            assert failed == [name], failed  # one breakage, one failing line
            return found

        data.chmod(0o755)
        assert broken("data-dir")["fix"] == f"chmod 700 {data}"
        data.chmod(0o700)
        key = data / "master.key"
        key.chmod(0o644)
        assert "chmod 600" in broken("master-key")["detail"]
        key.chmod(0o600)
        assert broken("chromium", VIPB_CHROMIUM=str(tmp_path / "no-chrome"))["detail"] \
            .endswith("does not exist")
        dead = f"http://127.0.0.1:{free_port()}/get"
        assert broken("check-url", VIPB_CHECK_URL=dead)["detail"].startswith(dead)
        public_only = broken("check-url", VIPB_ALLOW_PRIVATE_TARGETS="false")
        assert "egress guard refused" in public_only["detail"]
        config = tmp_path / "vipb.toml"
        config.write_text("search_concurency = 4\n")
        bad = broken("config", VIPB_CONFIG=str(config))
        assert "did you mean 'search_concurrency'" in bad["detail"]
        key.rename(tmp_path / "elsewhere.key")
        assert "no key source" in broken("master-key")["detail"]
        (tmp_path / "elsewhere.key").rename(key)
    with echo_server() as url:  # the proxy has stopped: the pool's only one is unreachable
        env["VIPB_CHECK_URL"] = url
        assert broken("proxies")["detail"].startswith("1 of 1 refuse connections")
