"""Search planning: which searches a ``StartSearch`` (or a schedule's run) asks for.

Pure rules over the tracked targets: the command's keywords are searched as they are tracked
(each tracked engine, place and device, unless the command names them), or once on the given
or default engine when they are not tracked; with no keywords named, every tracked keyword
(or those a schedule names) that matches the command's filters. The rank tracker checks what
needs the outside world (engine files, profiles) and queues the tasks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from domain.errors import AutomationError
from domain.keyword_names import fold_keyword
from domain.rank import RankTargets, SearchTask
from domain.rank_commands import DEFAULT_DEPTH, StartSearch
from domain.tab_commands import DEFAULT_MOBILE_PROFILE, DEFAULT_PROFILE

DEFAULT_ENGINE = "duckduckgo"  # a keyword searched without an engine named or tracked


@dataclass(frozen=True)
class PlannedSearch:
    """One search a run makes: the words, where and how deep."""

    keyword: str
    engine: str
    country: str | None
    location: str | None
    language: str | None
    depth: int
    device: str
    any_exit_country: bool = False


def tracked(targets: RankTargets, keywords: list[str] | None) -> list[PlannedSearch]:
    """The tracked keywords as searches: all of them, or those whose words are in
    ``keywords`` (compared without case or extra spaces)."""
    wanted = None if keywords is None else {fold_keyword(k) for k in keywords}
    return [PlannedSearch(e["keyword"], e["engine"], e["country"], e.get("location"),
                          e.get("language"), e["depth"], e["device"],
                          bool(e.get("any_exit_country")))
            for e in targets.keywords.values()
            if wanted is None or fold_keyword(e["keyword"]) in wanted]


def _matches(search: PlannedSearch, command: StartSearch) -> bool:
    return ((command.engine is None or search.engine == command.engine)
            and (command.country is None or search.country == command.country)
            and (command.location is None or search.location == command.location)
            and (command.language is None or search.language == command.language)
            and (command.device is None or search.device == command.device))


def plan(targets: RankTargets, command: StartSearch,
         keywords: list[str] | None = None,
         default_engine: str = DEFAULT_ENGINE) -> list[PlannedSearch]:
    """The searches ``command`` asks for (``keywords``: a schedule's keywords, used when the
    command names none; words not tracked go to ``command.engine`` or ``default_engine``).
    Refused with the reason when there is nothing to look for or nothing to search."""
    if not targets.domains:
        raise AutomationError("no target domains: add one first "
                              "(vipb rank domain add example.com)")
    named = command.named
    searches = [s for s in tracked(targets, named if named is not None else keywords)
                if _matches(s, command)]
    if named is not None:  # words not tracked (that way): once each, as given
        found = {fold_keyword(s.keyword) for s in searches}
        searches += [PlannedSearch(words, command.engine or default_engine, command.country,
                                   command.location, command.language, DEFAULT_DEPTH,
                                   command.device or "desktop")
                     for words in named if fold_keyword(words) not in found]
    if command.depth:
        searches = [replace(s, depth=command.depth) for s in searches]
    if command.any_exit_country is not None:
        searches = [replace(s, any_exit_country=command.any_exit_country) for s in searches]
    if not searches:
        raise AutomationError("no tracked keywords match: add one first "
                              "(vipb rank keyword add 'my keyword')")
    return searches


def profile_for(named: str, device: str) -> str:
    """The profile a ``device`` search uses: ``default`` means ``default-mobile`` on phones."""
    if device == "mobile" and named.casefold() == DEFAULT_PROFILE:
        return DEFAULT_MOBILE_PROFILE
    return named


def tasks(searches: list[PlannedSearch], targets: RankTargets, command: StartSearch,
          origin: str) -> list[SearchTask]:
    """One new ``SearchTask`` per planned search (not saved), looking for the target
    domains of this moment."""
    return [SearchTask(id=uuid.uuid4(), keyword=s.keyword, engine=s.engine, country=s.country,
                       depth=s.depth, domains=dict(targets.domains), origin=origin,
                       profile=profile_for(command.profile, s.device), proxy=command.proxy,
                       device=s.device, location=s.location, language=s.language,
                       any_exit_country=s.any_exit_country)
            for s in searches]
