"""Settings from vipb.toml, VIPB_* variables and the command line: later sources win, each
setting says where it came from, and every mistake is one line naming its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config_file import config_path, load_settings
from domain.errors import ValidationError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_file_then_environment_then_command_line(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = _write(tmp_path / "vipb.toml", 'check_url = "http://127.0.0.1:1/get"\n'
                    "search_concurrency = 4\nsearch_attempts = 5\n"
                    'data_dir = "/srv/from-file"\n'
                    '[engine_urls]\nbing = "http://127.0.0.1:2/search"\n')
    monkeypatch.setenv("VIPB_SEARCH_CONCURRENCY", "3")
    monkeypatch.setenv("vipb_search_attempts", "2")  # names are case-insensitive
    monkeypatch.delenv("VIPB_DATA_DIR")
    monkeypatch.delenv("VIPB_CHECK_URL")
    loaded = load_settings({"data_dir": tmp_path / "flag"}, config)
    s = loaded.settings
    assert (s.check_url, s.search_concurrency, s.search_attempts) == (
        "http://127.0.0.1:1/get", 3, 2)
    assert s.engine_urls == {"bing": "http://127.0.0.1:2/search"}
    assert s.data_dir == tmp_path / "flag"
    assert loaded.sources["check_url"] == f"file {config}"
    assert loaded.sources["search_concurrency"] == "env VIPB_SEARCH_CONCURRENCY"
    assert loaded.sources["search_attempts"] == "env vipb_search_attempts"
    assert loaded.sources["data_dir"] == "--data-dir"
    assert loaded.sources["shutdown_timeout"] == "default"
    rows = {r["name"]: r for r in loaded.rows()}
    assert rows["engine_urls"]["value"] == {"bing": "http://127.0.0.1:2/search"}
    assert set(rows) == set(type(s).model_fields)
    assert loaded.file_found
    without_flag = load_settings(None, config)
    assert without_flag.settings.data_dir == Path("/srv/from-file")
    assert without_flag.sources["data_dir"] == f"file {config}"


def test_no_file_is_defaults_and_variables(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIPB_CONFIG", str(tmp_path / "absent.toml"))
    assert config_path() == tmp_path / "absent.toml"
    loaded = load_settings(path=tmp_path / "absent.toml")  # the per-user file may be absent
    assert not loaded.file_found and loaded.settings.search_concurrency == 2
    monkeypatch.delenv("VIPB_CONFIG")
    assert config_path().name == "vipb.toml" and "vipb" in config_path().parts


def test_a_config_file_named_by_vipb_config_must_exist(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 32, point 8: a typo in VIPB_CONFIG quietly ran on the defaults."""
    monkeypatch.setenv("VIPB_CONFIG", str(tmp_path / "vipb.tmol"))
    with pytest.raises(ValidationError, match=r"^config: VIPB_CONFIG names .*vipb\.tmol, "
                                              r"which does not exist: create it"):
        load_settings()
    (tmp_path / "vipb.tmol").touch(mode=0o600)
    assert not load_settings().sources["check_url"].startswith("file")


@pytest.mark.parametrize(("text", "env", "message"), [
    ("chek_url = 'x'\n", {}, "config: unknown setting 'chek_url' in {path} "
                             "(did you mean 'check_url'?)"),
    ("zzz = 1\n", {}, "config: unknown setting 'zzz' in {path}"),
    ("check_url = \n", {}, "config: {path} is not valid TOML: Invalid value "
                           "(at line 1, column 13)"),
    ("search_concurrency = 99\n", {},
     "vipb.toml search_concurrency: Input should be less than or equal to 32"),
    ("egress_allow = ['nonsense']\n", {},
     "vipb.toml egress_allow: 'nonsense' is not a network or address[:port]"),
    ("search_concurrency = 4\n", {"VIPB_SEARCH_CONCURRENCY": "0"},
     "VIPB_SEARCH_CONCURRENCY: Input should be greater than or equal to 1"),
    ("", {"VIPB_ENGINE_URLS": "{not json"}, "VIPB_ENGINE_URLS: not valid JSON"),
    # issue 32, point 8: an ftp or host-less check URL was accepted
    ("", {"VIPB_CHECK_URL": "ftp://x"}, "VIPB_CHECK_URL: must be an http:// or https:// URL"),
    ("", {"VIPB_CHECK_URL": "http:///get"}, "VIPB_CHECK_URL: must be an http:// or https://"),
])
def test_every_mistake_is_one_line_naming_its_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, env: dict[str, str],
        message: str) -> None:
    config = _write(tmp_path / "vipb.toml", text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        load_settings(None, config)
    assert caught.value.message.startswith(message.format(path=config))
    assert "\n" not in caught.value.message
