"""Engine definitions: one TOML file per search engine, read and checked here.

A definition says how to ask an engine for a results page (URL and query parameters, with
the region, place and language of the search) and how to read the answer (the layouts of its
result list, what is never a result: excluded blocks, packs by their shape, ad and tracking
hosts, the engine's own search and vertical pages; the markers of captcha, consent and "no
results" pages, the next-page control, the SERP features worth recording). Its version is
the engine's name and a hash of the file's text (``definition_version``): a re-read of kept
pages records which definition gave which answer. vipb ships one file per engine in
``adapters/serp/engines/``; files in ``VIPB_ENGINES_DIR`` add engines or replace shipped
ones by name, so a markup change is a file edit, not a release. SearXNG's engine settings
are the model; the format and the selectors are ours.

Every selector is compiled when the file is read, every template names only known
variables: a broken file is refused with its path, the field and the reason, and never
half-used.
"""

from __future__ import annotations

import hashlib
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
    {"keyword", "offset", "first", "page", "country", "country_lower", "language", "locale",
     "region", "location", "uule"})
"""``keyword``: the search words; ``offset``: results read so far (0-based, absent on the
first page); ``first``: ``offset + 1`` (absent on the first page); ``page``: pages read so
far (absent on the first page); ``country``/``country_lower``: the search country (after
``country_codes``); ``language``: the search language (the keyword's, else the country's
main one: ``de``); ``locale``: ``de-DE``; ``region``: the engine's own id of the country
(``regions``; absent for countries it does not list); ``location``: the canonical name of a
place (``Berlin,Berlin,Germany``); ``uule``: that name as Google's ``uule`` parameter. A
parameter whose template names an absent variable is left out of the URL."""

LOCATION_VARIABLES = frozenset({"location", "uule"})

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


def _engine_page(value: str) -> str:
    path, _, param = value.partition("?")
    if not path.startswith("/") or any(c in value for c in " #*") or "=" in param:
        raise ValueError("must be a path prefix (/search) or a path prefix and a query "
                         "parameter the link carries (/maps?q)")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


Selector = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_selector)]
Template = Annotated[str, Field(max_length=200), AfterValidator(_template)]
OwnHost = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_own_host)]
EnginePage = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_engine_page)]
Feature = Literal["ads_top", "ads_bottom", "featured_snippet", "people_also_ask", "local_pack",
                  "images", "videos", "news", "knowledge_panel"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layout(_Strict):
    """One shape of the result list. ``items`` selects the list's own entries (each yields
    at most one result: the first ``link`` in it that is a result); ``title`` is read inside
    the link, else inside the item, else the link's text.

    An item nested in another item is part of it (sitelinks, a result's own parts), unless
    it holds a title ``link`` and a ``snippet`` of its own: then it is a result of its own
    (a site's second result grouped with its first, an indented result under it)."""

    name: str = Field(min_length=1, max_length=40)
    items: Selector
    link: Selector
    title: Selector | None = None
    snippet: Selector | None = None


class Packs(_Strict):
    """Blocks of media results that are never organic results, recognised by their shape
    rather than their tag names: a block under a ``heading`` of its own (not a result's
    title) holding ``min_links`` or more links to different places, each with a thumbnail
    (``media``) or a duration (``12:04``), and no result ``snippet`` (a video pack, "short
    videos", "top stories" carousels of plain ``div``s). ``within``: where to look."""

    within: Selector
    heading: Selector
    media: Selector = "img, g-img, video"
    snippet: Selector
    min_links: int = Field(default=2, ge=2, le=20)


class Markers(_Strict):
    """A page is recognised when one selector matches, or when the text of ``within`` (the
    whole page if unset) holds one of ``text`` (case-insensitive)."""

    css: list[Selector] = Field(default_factory=list, max_length=50)
    text: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50)
    within: Selector | None = None
    what: str = Field(default="", max_length=80)  # how an error names it: "a captcha"


class EngineDefinition(_Strict):
    """Everything vipb knows about one search engine (see the module docstring).

    ``consent`` pages block a search only when they hide the results: a results page under
    a consent dialog is read, and the dialog is noted."""

    name: Annotated[str, Field(pattern=ENGINE_NAME)]
    label: str = Field(min_length=1, max_length=40)
    url: Annotated[str, Field(max_length=500), AfterValidator(_http_url)]
    params: dict[Annotated[str, Field(min_length=1, max_length=40)], Template]
    # how results pages are fetched: ``browser`` (a tab), ``http`` (no tab: the profile's
    # own Chrome over HTTP - TLS, HTTP/2, headers -, for engines whose results pages need
    # no script), ``auto`` (HTTP, and a tab behind the same proxy when HTTP gets a captcha,
    # a consent page or a layout the definition does not know; remembered per proxy)
    fetch: Literal["browser", "http", "auto"] = "browser"
    country_codes: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")],
                        Annotated[str, Field(min_length=1, max_length=10)]] = Field(
        default_factory=dict)
    # hosts whose links are never results: the engine's ad, click-tracking, static and
    # cache hosts (a host and its subdomains; ``name.*``: under any public suffix)
    own_hosts: list[OwnHost] = Field(default_factory=list, max_length=100)
    # where the engine's own search and vertical pages live (exact hosts; ``name.*``: under
    # any public suffix), and which pages there are those (``engine_pages``): never results.
    # Its other pages and its other hosts (an app's store page, a help article) rank like
    # anyone's. The results page's own host always counts as a search host.
    search_hosts: list[OwnHost] = Field(default_factory=list, max_length=100)
    engine_pages: list[EnginePage] = Field(default_factory=list, max_length=100)
    regions: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")],
                  Annotated[str, Field(min_length=1, max_length=20)]] = Field(
        default_factory=dict)
    packs: Packs | None = None
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

    @property
    def takes_location(self) -> bool:
        """Whether a search can ask this engine for results near a place (``location``)."""
        return any(name in LOCATION_VARIABLES for template in self.params.values()
                   for _text, name, _spec, _conv in string.Formatter().parse(template))


class EngineFileError(ValueError):
    """An engine definition file cannot be used; the message names the file and field."""


def definition_version(name: str, text: str) -> str:
    """``google@3f2a9c01b2d4``: the engine and a hash of its definition's text, so a
    re-read of stored pages names exactly which definition gave which answer."""
    return f"{name}@{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def read_definition(path: Path) -> EngineDefinition:
    """One definition file, checked; ``EngineFileError`` with a one-line reason if bad."""
    definition, _text = read_definition_text(path)
    return definition


def read_definition_text(path: Path) -> tuple[EngineDefinition, str]:
    """One definition file, checked, with its text (for ``definition_version``)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise EngineFileError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB")
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
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
    return definition, text


def read_definitions(extra_dir: Path | None = None) -> tuple[
        dict[str, tuple[EngineDefinition, Path, str]], dict[str, str]]:
    """(definitions with the file each was read from and its version, by name; problems by
    engine name): a file that does not hold up is left out and its engine (the file's name)
    gets the reason instead, so one bad file never takes the other engines down with it."""
    found: dict[str, tuple[EngineDefinition, Path, str]] = {}
    problems: dict[str, str] = {}
    for folder in [SHIPPED_DIR] + ([extra_dir] if extra_dir is not None else []):
        if not folder.is_dir():
            problems[f"({folder})"] = f"{folder}: engines directory does not exist"
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                definition, text = read_definition_text(path)
            except EngineFileError as exc:
                found.pop(path.stem, None)  # a broken override does not fall back silently
                problems[path.stem] = str(exc)
                continue
            problems.pop(definition.name, None)
            found[definition.name] = (definition, path,
                                      definition_version(definition.name, text))
    return found, problems
