"""Where the settings come from, later winning: defaults, ``vipb.toml``, ``VIPB_*`` environment
variables, then the command line (``--data-dir``).

The file is ``$VIPB_CONFIG`` or ``vipb.toml`` in the per-user config dir (e.g.
``~/.config/vipb/vipb.toml``); a missing file is no error. Its keys are the settings' names
(``check_url = "..."``, ``[engine_urls]`` as a table). Keys are never read from it: the
master key has its own sources (``vipb doctor`` names the one in use). Every mistake, in the
file or in a variable, is one line naming where it is and why.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from platformdirs import user_config_dir
from pydantic_settings import SettingsError

from adapters.config import Settings
from adapters.trust import require_trusted
from domain.errors import ValidationError

CONFIG_ENV = "VIPB_CONFIG"
ENV_PREFIX = "VIPB_"


def config_path() -> Path:
    """The config file in force: ``$VIPB_CONFIG``, else the per-user one."""
    chosen = os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return Path(user_config_dir("vipb", appauthor=False)) / "vipb.toml"


@dataclass(frozen=True)
class LoadedSettings:
    """Effective settings, and for each field where its value came from."""

    settings: Settings
    sources: dict[str, str]
    file: Path
    file_found: bool

    def rows(self) -> list[dict[str, Any]]:
        """One row per setting: name, effective value (JSON-ready) and source."""
        values = self.settings.model_dump(mode="json")
        return [{"name": name, "value": values[name], "source": self.sources[name]}
                for name in Settings.model_fields]


def read_config_file(path: Path, required: bool = False) -> dict[str, Any]:
    """The file's settings (empty when there is no file, unless ``required``: a file named
    by ``VIPB_CONFIG`` must exist, or a typo would quietly run on the defaults); unknown
    keys and bad TOML are refused with the file and the line."""
    if path.exists():
        require_trusted(path, "config file")  # it can name the Chromium vipb runs
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ValidationError(
                f"{CONFIG_ENV} names {path}, which does not exist: create it (an empty file "
                f"means the defaults) or unset {CONFIG_ENV}", field="config") from None
        return {}
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}",
                              field="config") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path} is not valid TOML: {exc}", field="config") from None
    for key in data:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(key, list(Settings.model_fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(f"unknown setting {key!r} in {path}{hint}", field="config")
    return data


def _env_names() -> dict[str, str]:
    """Settings set by environment variables, as field -> the variable's name (pydantic
    reads them case-insensitively)."""
    found: dict[str, str] = {}
    for var in os.environ:
        upper = var.upper()
        if upper.startswith(ENV_PREFIX):
            name = upper[len(ENV_PREFIX):].lower()
            if name in Settings.model_fields:
                found[name] = var
    return found


def load_settings(overrides: dict[str, Any] | None = None,
                  path: Path | None = None) -> LoadedSettings:
    """Build the settings from every source; a bad value anywhere is a ``ValidationError``
    naming its source (``VIPB_SEARCH_CONCURRENCY: ...``, ``vipb.toml check_url: ...``)."""
    named = path is None and bool(os.environ.get(CONFIG_ENV))
    path = path or config_path()
    file_values = read_config_file(path, required=named)
    env = _env_names()
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    sources: dict[str, str] = {}
    for name in Settings.model_fields:
        if name in given:
            sources[name] = f"--{name.replace('_', '-')}"
        elif name in env:
            sources[name] = f"env {env[name]}"
        elif name in file_values:
            sources[name] = f"file {path}"
        else:
            sources[name] = "default"
    from_file = {k: v for k, v in file_values.items() if k not in env and k not in given}
    try:
        settings = Settings(**from_file, **given)
    except SettingsError as exc:  # a list or table variable that is not JSON
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1) if match else "config"
        raise ValidationError("not valid JSON (lists and tables are JSON in variables, "
                              "e.g. '[\"10.1.2.3:8080\"]')",
                              field=env.get(name, name)) from None
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "config"
        where = sources.get(name, "default")
        label = (where.removeprefix("env ") if where.startswith("env ")
                 else f"{path.name} {name}" if where.startswith("file ") else name)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValidationError(message, field=label) from None
    return LoadedSettings(settings=settings, sources=sources, file=path,
                          file_found=path.is_file())
