"""The ``PrivacyGuardActor``: owns privacy profiles and the tracker blocker.

Tabs ask it for a ``TabSetup`` (fingerprint stamped for the running engine, locale and time
zone, WebRTC mode, blocker when enabled). Profiles are event-sourced, so a profile presents
the same values after a restart; ``default`` is created on first use.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from actors.base import VipbActor
from actors.generation import Generation
from actors.writer import EventWriter
from adapters.browser import ProxyRoute, TabSetup, TrackerBlocker
from adapters.egress import EgressGuard
from adapters.fingerprints import DESKTOP_OS, MOBILE_OS, generate_fingerprint
from domain.errors import ConcurrencyError, ProfileNotFoundError, ValidationError
from domain.events import events_of
from domain.fingerprint import Fingerprint
from domain.locales import languages_for, locale_for, timezone_for
from domain.privacy import PrivacyProfile, WebRTCMode, profile_id
from domain.results import Ack
from domain.tab_commands import (
    DEFAULT_MOBILE_PROFILE,
    DEFAULT_PROFILE,
    SetFingerprint,
    ToggleTrackerBlocking,
    ToggleWebRTC,
)

log = logging.getLogger(__name__)
_CHROME = re.compile(r"Chrome/[\d.]+")  # tabs claim the running engine's version


PROFILE_EVENTS = events_of(PrivacyProfile, "PrivacyProfileCreated", "PrivacySettingsChanged",
                           "FingerprintRegenerated", "PrivacyProfileRemoved",
                           "PrivacyProfileRecreated")


class PrivacyGuardActor(VipbActor):
    """Profiles by name, the shared tracker blocker, and tab setups built from both."""

    def __init__(self, writer: EventWriter, filter_lists: Sequence[str] = (),
                 egress: EgressGuard | None = None, shared: bool = False) -> None:
        """``shared``: hosts share the store; profiles other hosts change are read
        afresh."""
        super().__init__()
        self._others = (writer.log.follow(PROFILE_EVENTS) if shared
                        else None)
        self._writer = writer
        self._filter_lists = list(filter_lists)
        self._egress = egress  # filter lists at URLs are fetched through it
        self._profiles: dict[str, PrivacyProfile] = {}
        self._blocker: TrackerBlocker | None = None
        # bumped after every change of a profile here, for callers caching tab setups; on
        # a shared store other hosts change profiles too (seen only when asked): no cache
        self._changes = None if shared else Generation()

    # --- profiles ------------------------------------------------------------------------------

    def _stored(self, name: str) -> PrivacyProfile | None:
        """The profile aggregate of ``name``, removed or not."""
        key = name.casefold()
        if self._others is not None:  # drop what other hosts changed since
            for changed in self._others.changed():
                self._profiles = {k: p for k, p in self._profiles.items() if p.id != changed}
        profile = self._profiles.get(key)
        if profile is None:
            profile = self._writer.load(PrivacyProfile, profile_id(name))
            if profile is not None:
                self._profiles[key] = profile
        return profile

    def _load(self, name: str) -> PrivacyProfile | None:
        """The profile called ``name``, unless there is none (or it was removed)."""
        profile = self._stored(name)
        return None if profile is None or profile.removed else profile

    def _create(self, name: str, os_names: Sequence[str], seed: int | None,
                locale: str | None, timezone: str | None,
                follow_proxy_country: bool) -> PrivacyProfile:
        seed = secrets.randbits(63) if seed is None else seed
        fingerprint = generate_fingerprint(seed, os_names)
        locale = locale or fingerprint.languages[0]
        profile = self._stored(name)
        if profile is not None:  # a removed profile's name, used again
            profile.recreate(name=name, fingerprint=fingerprint.model_dump(mode="json"),
                             locale=locale,
                             timezone=timezone or _home_zone(locale),
                             follow_proxy_country=follow_proxy_country)
        else:
            profile = PrivacyProfile(
                id=profile_id(name), name=name, fingerprint=fingerprint.model_dump(mode="json"),
                locale=locale, timezone=timezone or _home_zone(locale),
                follow_proxy_country=follow_proxy_country, webrtc=WebRTCMode.PROXIED.value,
                tracker_blocking=False)
        try:
            self._save(profile)
        except ConcurrencyError:
            if self._others is None:
                raise
            # another host made (or remade) it first: theirs is the profile
            self._profiles.pop(name.casefold(), None)
            stored = self._load(name)
            if stored is None:
                raise
            return stored
        self._profiles[name.casefold()] = profile
        return profile

    def _save(self, profile: PrivacyProfile) -> list[int]:
        """Store a change of ``profile``; tab setups cached from before are stale now,
        whether it was stored or not (a failed save leaves the cached aggregate holding
        the change)."""
        try:
            return self._writer.save(profile)
        finally:
            if self._changes is not None:
                self._changes.bump()

    def changes(self) -> Generation | None:
        """What a caller caching ``tab_setup`` answers watches: an answer holds while its
        value stays (None: do not cache, profiles change elsewhere too)."""
        return self._changes

    def profile(self, name: str, create_default: bool = True) -> PrivacyProfile:
        """The profile called ``name`` (``default`` and ``default-mobile``, a phone, are
        created when first asked for)."""
        profile = self._load(name)
        if profile is None:
            defaults = {DEFAULT_PROFILE: DESKTOP_OS, DEFAULT_MOBILE_PROFILE: MOBILE_OS}
            os_names = defaults.get(name.casefold())
            if os_names is None or not create_default:
                raise ProfileNotFoundError(name)
            profile = self._create(name.casefold(), os_names, None, None, None,
                                   follow_proxy_country=True)
        return profile

    def check_device(self, name: str, device: str) -> None:
        """Raise ``ProfileNotFoundError``, or a ``ValidationError`` on ``profile`` when the
        profile is not a ``device`` (desktop or mobile) profile."""
        mobile = self.profile(name).values().mobile
        if mobile != (device == "mobile"):
            kind = "mobile" if mobile else "desktop"
            hint = "--os android" if device == "mobile" else "--os windows"
            raise ValidationError(
                f"profile {name!r} is a {kind} profile; {device} searches need a {device} "
                f"profile (vipb privacy create NAME {hint})", field="profile")

    def fresh_setup(self, device: str, engine_version: str, proxy: ProxyRoute | None,
                    proxy_country: str | None) -> tuple[str, TabSetup]:
        """(id, setup) of a one-off profile for ``device``, stored nowhere: a second opinion
        from a browser the engine has never seen (the "no results" re-check)."""
        seed = secrets.randbits(63)
        fingerprint = generate_fingerprint(seed, MOBILE_OS if device == "mobile" else DESKTOP_OS)
        locale = fingerprint.languages[0]  # as a new profile following the proxy's country
        setup = self._setup(fingerprint, engine_version, locale, _home_zone(locale), True,
                            WebRTCMode.PROXIED.value, False, proxy, proxy_country)
        return f"fresh:{seed:016x}", setup

    def set_fingerprint(self, command: SetFingerprint) -> dict[str, Any]:
        """Create a profile, or regenerate an existing one's fingerprint when asked to."""
        existing = self._load(command.profile)
        if existing is not None and not command.regenerate:
            raise ValidationError(
                f"profile {command.profile!r} exists; pass regenerate=true (--regenerate) to "
                "give it a new fingerprint", field="profile")
        if existing is None:
            profile = self._create(command.profile, command.os, command.seed, command.locale,
                                   command.timezone, command.follow_proxy_country)
        else:
            seed = secrets.randbits(63) if command.seed is None else command.seed
            existing.regenerate(
                fingerprint=generate_fingerprint(seed, command.os).model_dump(mode="json"))
            changes: dict[str, Any] = {"follow_proxy_country": command.follow_proxy_country}
            if command.locale:
                changes["locale"] = command.locale
            if command.timezone:
                changes["timezone"] = command.timezone
            existing.change(**changes)
            self._save(existing)
            profile = existing
        return describe(profile)

    def remove(self, name: str) -> Ack:
        """Remove a profile (the caller has checked that nothing uses it)."""
        profile = self._load(name)
        if profile is None:
            raise ProfileNotFoundError(name)
        profile.remove()
        ids = self._save(profile)
        return Ack.of(profile.id, ids)

    def toggle_webrtc(self, command: ToggleWebRTC) -> Ack:
        """Set a profile's WebRTC mode (tabs opened afterwards use it)."""
        return self._change(command.profile, webrtc=command.mode.value)

    def toggle_blocking(self, command: ToggleTrackerBlocking) -> Ack:
        """Turn tracker blocking on or off for a profile."""
        if command.enabled:
            self.blocker()  # a bad list is reported now, not at the next tab
        return self._change(command.profile, tracker_blocking=command.enabled)

    def _change(self, name: str, **changes: Any) -> Ack:
        profile = self.profile(name)
        changed = profile.change(**changes)
        ids = self._save(profile) if changed else []
        return Ack.of(profile.id, ids)

    # --- tabs ------------------------------------------------------------------------------------

    def blocker(self) -> TrackerBlocker:
        """The tracker blocker, loading the configured lists on first use."""
        if self._blocker is None:
            self._blocker = TrackerBlocker.from_sources(self._filter_lists, self._egress)
            log.info("tracker blocker loaded %d rules", self._blocker.rules)
        return self._blocker

    def tab_setup(self, name: str, engine_version: str, proxy: ProxyRoute | None,
                  proxy_country: str | None) -> tuple[str, TabSetup]:
        """(profile id, setup) for a tab of profile ``name`` behind ``proxy``."""
        profile = self.profile(name)
        setup = self._setup(profile.values(), engine_version, profile.locale, profile.timezone,
                            profile.follow_proxy_country, profile.webrtc,
                            profile.tracker_blocking, proxy, proxy_country)
        return str(profile.id), setup

    def _setup(self, fingerprint: Fingerprint, engine_version: str, locale: str,
               timezone: str, follow_proxy_country: bool, webrtc: str,
               tracker_blocking: bool, proxy: ProxyRoute | None,
               proxy_country: str | None) -> TabSetup:
        """A tab's setup from a profile's values (locale and time zone follow the proxy's
        country when the profile says so and the proxy has one)."""
        if follow_proxy_country and proxy_country:
            locale, timezone = locale_for(proxy_country), timezone_for(proxy_country)
        return TabSetup(
            fingerprint=fingerprint.for_engine(engine_version), locale=locale,
            timezone=timezone, languages=tuple(languages_for(locale)), webrtc=webrtc,
            proxy=proxy, blocker=self.blocker() if tracker_blocking else None)


def _home_zone(locale: str) -> str:
    """The time zone of a locale's country (``de-DE`` -> Europe/Berlin; no country: US)."""
    return timezone_for(locale.split("-")[1] if "-" in locale else "US")


def describe(profile: PrivacyProfile) -> dict[str, Any]:
    """What the CLI shows of a profile (no noise seed): the values tabs present."""
    fp = profile.values().coherent()
    return {
        "id": str(profile.id), "name": profile.name, "platform": fp.platform,
        "user_agent": _CHROME.sub("Chrome/<engine>", fp.user_agent),
        "screen": f"{fp.screen.width}x{fp.screen.height}",
        "hardware_concurrency": fp.hardware_concurrency, "device_memory": fp.device_memory,
        "webgl_vendor": fp.webgl_vendor, "webgl_renderer": fp.webgl_renderer,
        "locale": profile.locale, "timezone": profile.timezone,
        "follow_proxy_country": profile.follow_proxy_country, "webrtc": profile.webrtc,
        "tracker_blocking": profile.tracker_blocking,
        "device": "mobile" if fp.mobile else "desktop", "architecture": fp.architecture,
        "touch_points": fp.max_touch_points, "color_depth": fp.screen.color_depth,
    }
