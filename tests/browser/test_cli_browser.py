"""The browser commands through the real ``vipb`` entry point."""

from __future__ import annotations

from tests.e2e.conftest import Cli, cli  # noqa: F401 - the fixture
from tests.servers import pproxy
from tests.sites import Site

LOCAL = {"VIPB_ALLOW_PRIVATE_TARGETS": "1"}


def test_visit_through_a_proxy_with_a_profile(cli: Cli, site: Site) -> None:  # noqa: F811
    assert cli("init").code == 0
    created = cli("privacy", "create", "paris", "--os", "macos", "--locale", "fr-FR",
                  "--timezone", "Europe/Paris", "--seed", "12", "--json")
    assert created.code == 0, created.err
    assert created.json()["platform"] == "MacIntel"
    again = cli("privacy", "create", "paris")
    assert again.code == 2 and again.err.count("\n") == 1 and "--regenerate" in again.err
    with pproxy("http", verbose=True) as proxy:
        assert cli("proxy", "add", f"http://127.0.0.1:{proxy.port}", "--country", "FR").code == 0
        visit = cli("tab", "visit", site.url("/probe.html"), "--profile", "paris", "--json",
                    **LOCAL)
        assert visit.code == 0, visit.err
        result = visit.json()
        assert (result["status"], result["title"]) == (200, "probe")
        assert proxy.log.mentions(site.base.removeprefix("http://"))
    listed = cli("tab", "list", "--all", "--json").json()
    assert [(t["state"], t["proxy_id"], t["url"]) for t in listed] == [
        ("closed", result["proxy_id"], site.url("/probe.html"))]
    assert cli("query", "tabs", "--where", "state=closed", "--json").json()[0]["id"] == \
        result["id"]


def test_visit_refuses_private_targets_by_default(cli: Cli, site: Site) -> None:  # noqa: F811
    assert cli("init").code == 0
    refused = cli("tab", "visit", site.url("/probe.html"), "--proxy", "direct")
    assert refused.code == 2
    assert refused.err.startswith("vipb: error: url:")
    assert site.requests == []
