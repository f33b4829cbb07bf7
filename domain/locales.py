"""Locale and time zone that fit a country (for profiles that follow their proxy's country).

Data from the CLDR (via babel): the most spoken language of the territory and its time zones.
Countries spanning several zones use their most populous zone (a small table; CLDR lists
zones alphabetically, which would put the US on Adak).
"""

from __future__ import annotations

from functools import cache

MAIN_ZONE = {
    "US": "America/New_York", "CA": "America/Toronto", "BR": "America/Sao_Paulo",
    "RU": "Europe/Moscow", "AU": "Australia/Sydney", "MX": "America/Mexico_City",
    "CN": "Asia/Shanghai", "ID": "Asia/Jakarta", "AR": "America/Argentina/Buenos_Aires",
    "KZ": "Asia/Almaty", "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "DE": "Europe/Berlin",
    "CL": "America/Santiago", "UA": "Europe/Kyiv", "NZ": "Pacific/Auckland",
    "EC": "America/Guayaquil", "MY": "Asia/Kuala_Lumpur", "MN": "Asia/Ulaanbaatar",
    "CD": "Africa/Kinshasa", "GL": "America/Nuuk", "FR": "Europe/Paris", "GB": "Europe/London",
    "UZ": "Asia/Tashkent",
}


@cache
def locale_for(country: str) -> str:
    """A BCP 47 locale for ``country`` (ISO alpha-2), e.g. "DE" -> "de-DE"; en-US if unknown."""
    from babel.core import get_global

    languages = get_global("territory_languages").get(country.upper())
    if not languages:
        return "en-US"
    official = {k: v for k, v in languages.items() if v.get("official_status")}
    pool = official or languages
    lang = max(pool, key=lambda k: pool[k].get("population_percent", 0))
    return f"{lang.split('_')[0]}-{country.upper()}"


@cache
def timezone_for(country: str) -> str:
    """The main IANA time zone of ``country``; UTC if unknown."""
    from babel.core import get_global

    code = country.upper()
    if code in MAIN_ZONE:
        return MAIN_ZONE[code]
    zones = get_global("territory_zones").get(code)
    return zones[0] if zones else "UTC"


def languages_for(locale: str) -> list[str]:
    """``navigator.languages`` as Chrome reports it for a locale: ["de-DE", "de"]."""
    base = locale.split("-")[0]
    return [locale, base] if base != locale else [locale]


def accept_language(languages: list[str] | tuple[str, ...]) -> str:
    """The ``Accept-Language`` header Chrome sends for ``navigator.languages``: each language
    after the first weighted 0.1 less, never under 0.1 (``de-DE,de;q=0.9``)."""
    parts = []
    for i, language in enumerate(languages):
        q = max(10 - i, 1)
        parts.append(language if i == 0 else f"{language};q={q / 10:.1f}")
    return ",".join(parts)
