"""Engine definitions are data: what the shipped files ask for, how a user's folder adds or
replaces engines without a restart, and how a broken file is refused (path, field, reason)
without taking the other engines down or falling back to the shipped file unnoticed."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from adapters.serp import Engines, SerpError, UnknownEngineError
from adapters.serp._definition import SHIPPED_DIR, EngineFileError, read_definition
from adapters.serp._engines import uule


@pytest.mark.parametrize(("engine", "offset", "page", "country", "url"), [
    ("google", 0, 0, "DE", "https://www.google.com/search?q=a+b&gl=DE&hl=de"),
    ("google", 10, 1, None, "https://www.google.com/search?q=a+b&start=10"),
    ("bing", 20, 2, "DE",
     "https://www.bing.com/search?q=a+b&first=21&cc=DE&setlang=de&mkt=de-DE"),
    ("duckduckgo", 0, 0, "GB", "https://html.duckduckgo.com/html/?q=a+b&kl=uk-en"),
    ("brave", 20, 1, None, "https://search.brave.com/search?q=a+b&offset=1&source=web"),
    ("yahoo", 7, 1, "FR", "https://search.yahoo.com/search?p=a+b&b=8&vc=fr&vl=lang_fr"),
    ("yandex", 0, 0, "TR", "https://yandex.com/search/?text=a+b&lang=tr"),  # no lr for TR
    ("yandex", 0, 0, "KZ", "https://yandex.com/search/?text=a+b&lang=ru&lr=159"),
    ("yandex", 10, 1, None, "https://yandex.com/search/?text=a+b&p=1"),
])
def test_urls_carry_keyword_region_and_paging(engine, offset, page, country, url) -> None:
    assert Engines().get(engine).url("a b", offset, country, page) == url


def test_a_place_and_a_language_reach_the_engines_that_take_them() -> None:
    engines = Engines()
    google = engines.get("google").url("a", 0, "DE", 0, "en", "Berlin,Berlin,Germany")
    # uule: a fixed prefix, the name's length as one base64 digit (21: "V"), the name
    assert google == ("https://www.google.com/search?q=a&gl=DE&hl=en&uule=w%2BCAIQICIV"
                      + quote(base64.b64encode(b"Berlin,Berlin,Germany").decode(), safe=""))
    assert uule("San Francisco, USA") == "w+CAIQICISU2FuIEZyYW5jaXNjbywgVVNB"
    assert engines.get("google").definition.takes_location
    assert not engines.get("bing").definition.takes_location
    assert engines.get("bing").url("a", 0, "CH", 0, "fr").endswith("cc=CH&setlang=fr&mkt=fr-CH")
    assert engines.get("duckduckgo").url("a", 0, "CH", 0, "fr").endswith("kl=ch-fr")


def test_a_base_url_override_keeps_the_parameters() -> None:
    engines = Engines(base_urls={"google": "http://127.0.0.1:9/s"})
    assert engines.get("google").url("a", 10, None, 1) == "http://127.0.0.1:9/s?q=a&start=10"


@pytest.mark.parametrize(("url", "result"), [
    ("https://play.google.com/store/apps/details?id=x", True),  # its properties rank
    ("https://support.google.com/websearch/answer/1", True),
    ("https://books.google.co.uk/books?id=AbC", True),
    ("https://developers.google.com/search", True),  # /search on another host is a page
    ("https://www.google.com/maps", True),  # Maps' front page
    ("https://www.google.com/", True),
    ("https://www.google.com/search?q=x", False),  # its search and verticals never do
    ("https://google.de/search?q=x&tbm=isch", False),
    ("https://maps.google.co.uk/maps?q=x", False),
    ("https://www.google.com/maps/place/Bean+Barn/@1,2", False),
    ("https://scholar.google.com/scholar?q=x", False),
    ("https://www.googleadservices.com/pagead/aclk?adurl=x", False),  # ads, caches
    ("https://webcache.googleusercontent.com/search?q=cache:x", False),
    ("https://notgoogle.com/search", True), ("https://google-fan.example/", True),
    ("ftp://example.com/", False)])
def test_which_links_can_be_results(url, result) -> None:
    assert Engines().get("google").is_result_url(url) is result


def _google_text() -> str:
    return (SHIPPED_DIR / "google.toml").read_text()


def test_a_users_folder_adds_and_replaces_engines_and_edits_apply_without_restart(
        tmp_path: Path) -> None:
    engines = Engines(tmp_path)
    page = '<div id="mine"><div class="hit"><a href="https://one.example/"><h3>1</h3></a></div></div>'
    (tmp_path / "lab.toml").write_text(
        'name = "lab"\nlabel = "Lab engine"\nurl = "https://lab.example/find"\n'
        '[params]\nquery = "{keyword}"\nfrom = "{first}"\n'
        '[[layouts]]\nname = "v1"\nitems = "#mine > div.hit"\nlink = "a[href]"\n')
    lab = engines.get("lab")
    assert lab.url("x", 10, None) == "https://lab.example/find?query=x&from=11"
    assert lab.parse(page, lab.url("x", 0, None)).urls == ["https://one.example/"]
    # replace a shipped engine: the user's google reads another markup
    (tmp_path / "google.toml").write_text(
        _google_text().replace("#rso div.MjjYud, #rso div.g", "#mine > div.hit, #rso div.g"))
    google = engines.get("google")
    assert google.parse(page, google.url("x", 0, None)).urls == ["https://one.example/"]
    assert {r["name"]: r["source"] for r in engines.describe()}["google"] \
        == str(tmp_path / "google.toml")
    # an edit applies to the next use (same size, so the mtime must tell it)
    text = (tmp_path / "lab.toml").read_text().replace('"v1"', '"v2"')
    (tmp_path / "lab.toml").write_text(text)
    os.utime(tmp_path / "lab.toml", ns=(1, 1))
    assert engines.get("lab").definition.layouts[0].name == "v2"



def test_a_hosts_searches_look_at_the_files_once_per_recheck_and_then_see_the_edit(
        tmp_path: Path) -> None:
    now = [100.0]
    engines = Engines(tmp_path, recheck=0.25, clock=lambda: now[0])
    path = tmp_path / "lab.toml"
    path.write_text('name = "lab"\nlabel = "Lab engine"\nurl = "https://lab.example/find"\n'
                    '[params]\nquery = "{keyword}"\n'
                    '[[layouts]]\nname = "v1"\nitems = "#mine > div.hit"\nlink = "a[href]"\n')
    assert engines.get("lab").definition.layouts[0].name == "v1"
    path.write_text(path.read_text().replace('"v1"', '"v2"'))
    os.utime(path, ns=(1, 1))
    now[0] += 0.2  # within the look before: the files are not looked at again
    assert engines.get("lab").definition.layouts[0].name == "v1"
    now[0] += 0.1
    assert engines.get("lab").definition.layouts[0].name == "v2"


@pytest.mark.parametrize(("change", "field", "reason"), [
    (('items = "#rso div.MjjYud', 'items = "#rso div[[['), "layouts.0.items",
     "not a CSS selector"),
    (('start = "{offset}"', 'start = "{ofset}"'), "params.start", "unknown variable(s) ofset"),
    (('label = "Google"', 'label = "Google"\ncolour = "blue"'), "colour",
     "Extra inputs are not permitted"),
    (('name = "google"', 'name = "gogle"'), "name", "must be the file's name"),
    (('url = "https://www.google.com/search"', 'url = "file:///etc/passwd"'), "url",
     "must be an http(s) URL"),
    (('own_hosts = ["googleadservices.com"', 'own_hosts = ["*.googleadservices.com"'),
     "own_hosts.0", "must be a host"),
    (('engine_pages = ["/search"', 'engine_pages = ["search"'), "engine_pages.0",
     "must be a path prefix"),
    (('[features]', '[features]\nsponsored_everything = ["div"]'),
     "'features.sponsored_everything.[key]'", "Input should be"),
    (('[[layouts]]', '[[layouts]'), "(file)", "not valid TOML"),
    (('fetch = "browser"', 'fetch = "curl"'), "fetch", "Input should be 'browser'"),
])
def test_a_broken_file_is_refused_with_path_field_and_reason(tmp_path: Path, change, field,
                                                              reason) -> None:
    path = tmp_path / "google.toml"
    old, new = change
    assert old in _google_text()
    path.write_text(_google_text().replace(old, new, 1))
    with pytest.raises(EngineFileError) as caught:
        read_definition(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and reason in message and "\n" not in message
    if field != "(file)":
        assert f": {field}: " in message


def test_a_broken_override_fails_its_engine_only_and_never_falls_back(tmp_path: Path) -> None:
    engines = Engines(tmp_path)
    (tmp_path / "bing.toml").write_text("name = 'bing'\n")  # missing everything else
    with pytest.raises(SerpError, match=r"bing\.toml: label: Field required"):
        engines.get("bing")
    assert engines.get("google").name == "google"
    assert {r["name"]: r["problem"] for r in engines.describe()}["bing"]
    with pytest.raises(UnknownEngineError, match="unknown engine 'altavista'"):
        engines.get("altavista")
    (tmp_path / "bing.toml").unlink()  # fixed by removing the override
    assert engines.get("bing").definition.label == "Bing"


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "google.toml"
    path.write_text(_google_text() + "#" * 300_000)
    with pytest.raises(EngineFileError, match="larger than 256 KiB"):
        read_definition(path)


def test_engines_whose_pages_need_no_script_are_fetched_over_http_first() -> None:
    """Google's pages need a browser; the others serve complete pages to clients without
    scripts (``auto``: HTTP first, a tab on a challenge)."""
    engines = Engines()
    ways = {name: engines.get(name).definition.fetch for name in engines.names()}
    assert ways == {"bing": "auto", "brave": "auto", "duckduckgo": "auto",
                    "google": "browser", "yahoo": "auto", "yandex": "auto"}
