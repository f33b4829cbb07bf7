"""Host settings: one pydantic settings model, environment prefix ``VIPB_``."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The per-user data directory (e.g. ``~/.local/share/vipb`` on Linux)."""
    return Path(user_data_dir("vipb", appauthor=False))


class Settings(BaseSettings):
    """Where vipb keeps its data and how it behaves; every field can be set as ``VIPB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="VIPB_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """Directory holding the event store, read models, data keys and (maybe) the key file."""

    check_url: str = "http://httpbin.org/get"
    """Health-check URL fetched through each proxy; an httpbin-style JSON echo (``origin``,
    ``headers``) also yields the exit IP and the anonymity level."""

    allow_private_targets: bool = False
    """Allow loopback/private/link-local URLs as targets (tests and labs only: SSRF guard)."""

    chromium: Path | None = None
    """Chromium executable; unset: Playwright's own build if installed, else Debian's."""

    filter_lists: list[str] = Field(default_factory=list)
    """Tracker filter lists (EasyList/EasyPrivacy format): file paths or http(s) URLs."""
