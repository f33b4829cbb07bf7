"""Engine definitions: one TOML file per search engine, read and checked here.

A definition says how to ask an engine for a results page (URL and query parameters, with
the region and language of the search) and how to read the answer (the layouts of its result
list, what is never a result, the markers of captcha, consent and "no results" pages, the
next-page control, the SERP features worth recording). vipb ships one file per engine in
``adapters/serp/engines/``; files in ``VIPB_ENGINES_DIR`` add engines or replace shipped
ones by name, so a markup change is a file edit, not a release. SearXNG's engine settings
are the model; the format and the selectors are ours.

Every selector is compiled when the file is read, every template names only known
variables: a broken file is refused with its path, the field and the reason, and never
half-used.
"""

from __future__ import annotations

import string
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from domain.parsing import first_error
from domain.rank_commands import ENGINE_NAME

SHIPPED_DIR = Path(__file__).with_name("engines")
MAX_FILE_BYTES = 256 * 1024

TEMPLATE_VARIABLES = frozenset(
    {"keyword", "offset", "first", "page", "country", "country_lower", "language", "locale"})
"""``keyword``: the search words; ``offset``: results read so far (0-based, absent on the
first page); ``first``: ``offset + 1`` (absent on the first page); ``page``: pages read so
far (absent on the first page); ``country``/``country_lower``: the search country (after
``country_codes``); ``language``: its main language (``de``); ``locale``: ``de-DE``. A
parameter whose template names an absent variable is left out of the URL."""

_EMPTY = LexborHTMLParser("<html><body></body></html>")


def _selector(value: str) -> str:
    try:
        _EMPTY.css(value)
    except SelectolaxError:
        raise ValueError(f"is not a CSS selector lexbor can run: {value!r}") from None
    return value


def _template(value: str) -> str:
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(value) if name}
    except ValueError as exc:
        raise ValueError(f"is not a valid template: {exc}") from None
    unknown = names - TEMPLATE_VARIABLES
    if unknown:
        raise ValueError(f"names unknown variable(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(TEMPLATE_VARIABLES))})")
    return value


def _own_host(value: str) -> str:
    text = value.strip().lower()
    bare = text.removesuffix(".*")
    if not bare or "*" in bare or "/" in bare or ":" in bare:
        raise ValueError("must be a host (bing.com, matching its subdomains too) or a name "
                         "with any public suffix (google.*)")
    return text


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


Selector = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_selector)]
Template = Annotated[str, Field(max_length=200), AfterValidator(_template)]
OwnHost = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_own_host)]
Feature = Literal["ads_top", "ads_bottom", "featured_snippet", "people_also_ask", "local_pack",
                  "images", "videos", "news", "knowledge_panel"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layout(_Strict):
    """One shape of the result list. ``items`` selects the list's own entries (each yields
    at most one result: the first ``link`` in it that leads off the engine); ``title`` is
    read inside the link, else inside the item, else the link's text."""

    name: str = Field(min_length=1, max_length=40)
    items: Selector
    link: Selector
    title: Selector | None = None


class Markers(_Strict):
    """A page is recognised when one selector matches, or when the text of ``within`` (the
    whole page if unset) holds one of ``text`` (case-insensitive)."""

    css: list[Selector] = Field(default_factory=list, max_length=50)
    text: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50)
    within: Selector | None = None
    what: str = Field(default="", max_length=80)  # how an error names it: "a captcha"


class EngineDefinition(_Strict):
    """Everything vipb knows about one search engine (see the module docstring)."""

    name: Annotated[str, Field(pattern=ENGINE_NAME)]
    label: str = Field(min_length=1, max_length=40)
    url: Annotated[str, Field(max_length=500), AfterValidator(_http_url)]
    params: dict[Annotated[str, Field(min_length=1, max_length=40)], Template]
    country_codes: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")],
                        Annotated[str, Field(min_length=1, max_length=10)]] = Field(
        default_factory=dict)
    own_hosts: list[OwnHost] = Field(default_factory=list, max_length=100)
    layouts: list[Layout] = Field(min_length=1, max_length=20)
    exclude: list[Selector] = Field(default_factory=list, max_length=200)
    blocked: Markers = Field(default_factory=Markers)
    consent: Markers = Field(default_factory=Markers)
    no_results: Markers = Field(default_factory=Markers)
    next_page: list[Selector] = Field(default_factory=list, max_length=20)
    # when the next and previous controls share their markup: the control's text must hold
    # one of these (case-insensitive), e.g. ["Next", "Weiter"]
    next_page_text: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=50)
    features: dict[Feature, list[Selector]] = Field(default_factory=dict)


class EngineFileError(ValueError):
    """An engine definition file cannot be used; the message names the file and field."""


def read_definition(path: Path) -> EngineDefinition:
    """One definition file, checked; ``EngineFileError`` with a one-line reason if bad."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise EngineFileError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineFileError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EngineFileError(f"{path}: not valid TOML: {exc}") from None
    try:
        definition = EngineDefinition.model_validate(data)
    except ValidationError as exc:
        error = first_error(exc)  # its message names the field ("layouts.0.items: ...")
        where = "" if error.field else "(file): "
        raise EngineFileError(f"{path}: {where}{error.message}") from None
    if definition.name != path.stem:
        raise EngineFileError(f"{path}: name: is {definition.name!r}; it must be the file's "
                              f"name without .toml ({path.stem!r})")
    return definition


def read_definitions(extra_dir: Path | None = None) -> tuple[
        dict[str, tuple[EngineDefinition, Path]], dict[str, str]]:
    """(definitions with the file each was read from, by name; problems by engine name): a
    file that does not hold up is left out and its engine (the file's name) gets the reason
    instead, so one bad file never takes the other engines down with it."""
    found: dict[str, tuple[EngineDefinition, Path]] = {}
    problems: dict[str, str] = {}
    for folder in [SHIPPED_DIR] + ([extra_dir] if extra_dir is not None else []):
        if not folder.is_dir():
            problems[f"({folder})"] = f"{folder}: engines directory does not exist"
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                definition = read_definition(path)
            except EngineFileError as exc:
                found.pop(path.stem, None)  # a broken override does not fall back silently
                problems[path.stem] = str(exc)
                continue
            problems.pop(definition.name, None)
            found[definition.name] = (definition, path)
    return found, problems
