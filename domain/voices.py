"""The speech-synthesis voices a desktop Chrome lists, by operating system.

Headless Chromium lists no voices at all, which no desktop Chrome does. Google Chrome lists
its Google network voices on every desktop system (not local, so speaking goes through
Google), plus the system's own: Windows' SAPI voices for US English, macOS's voices of its
installed languages (Samantha the default), none on a Linux desktop without speech-dispatcher
voices. These are the names and languages those systems ship.
"""

from __future__ import annotations

from typing import NamedTuple


class Voice(NamedTuple):
    """One ``SpeechSynthesisVoice`` (``voiceURI`` is the name, as Chrome reports it)."""

    name: str
    lang: str
    local: bool
    default: bool = False


_GOOGLE = tuple(Voice(name, lang, False) for name, lang in (
    ("Google Deutsch", "de-DE"), ("Google US English", "en-US"),
    ("Google UK English Female", "en-GB"), ("Google UK English Male", "en-GB"),
    ("Google español", "es-ES"), ("Google español de Estados Unidos", "es-US"),
    ("Google français", "fr-FR"), ("Google हिन्दी", "hi-IN"),
    ("Google Bahasa Indonesia", "id-ID"), ("Google italiano", "it-IT"),
    ("Google 日本語", "ja-JP"), ("Google 한국의", "ko-KR"), ("Google Nederlands", "nl-NL"),
    ("Google polski", "pl-PL"), ("Google português do Brasil", "pt-BR"),
    ("Google русский", "ru-RU"), ("Google\u00a0普通话（中国大陆）", "zh-CN"),  # noqa: RUF001
    ("Google\u00a0粤語（香港）", "zh-HK"), ("Google 國語（臺灣）", "zh-TW"),  # noqa: RUF001
))
_WINDOWS = (
    Voice("Microsoft David - English (United States)", "en-US", True, True),
    Voice("Microsoft Mark - English (United States)", "en-US", True),
    Voice("Microsoft Zira - English (United States)", "en-US", True),
)
_MACOS = tuple(Voice(name, lang, True, name == "Samantha") for name, lang in (
    ("Samantha", "en-US"), ("Alice", "it-IT"), ("Alva", "sv-SE"), ("Amélie", "fr-CA"),
    ("Anna", "de-DE"), ("Carmit", "he-IL"), ("Damayanti", "id-ID"), ("Daniel", "en-GB"),
    ("Ellen", "nl-BE"), ("Fred", "en-US"), ("Ioana", "ro-RO"), ("Joana", "pt-PT"),
    ("Kanya", "th-TH"), ("Karen", "en-AU"), ("Kyoko", "ja-JP"), ("Laura", "sk-SK"),
    ("Lekha", "hi-IN"), ("Luciana", "pt-BR"), ("Mariska", "hu-HU"), ("Meijia", "zh-TW"),
    ("Melina", "el-GR"), ("Milena", "ru-RU"), ("Moira", "en-IE"), ("Mónica", "es-ES"),
    ("Nora", "nb-NO"), ("Paulina", "es-MX"), ("Rishi", "en-IN"), ("Sara", "da-DK"),
    ("Satu", "fi-FI"), ("Sinji", "zh-HK"), ("Tessa", "en-ZA"), ("Thomas", "fr-FR"),
    ("Tingting", "zh-CN"), ("Xander", "nl-NL"), ("Yelda", "tr-TR"), ("Yuna", "ko-KR"),
    ("Zosia", "pl-PL"), ("Zuzana", "cs-CZ"),
))
_SYSTEM_VOICES = {"Windows": _WINDOWS, "macOS": _MACOS}


def voices_for(ua_platform: str, mobile: bool) -> tuple[Voice, ...]:
    """The voices Chrome lists on ``ua_platform`` (``userAgentData.platform``): the system's
    own first, then Google's; none claimed for a phone (Android's depend on its engines)."""
    if mobile:
        return ()
    return _SYSTEM_VOICES.get(ua_platform, ()) + _GOOGLE
