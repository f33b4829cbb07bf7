"""The ``PrivacyProfile`` aggregate: a fingerprint plus the privacy settings tabs run with.

The generated fingerprint is stored in ``PrivacyProfileCreated``, so a profile looks the same
after every restart; only an explicit ``regenerate`` changes it (``FingerprintRegenerated``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.fingerprint import Fingerprint
from domain.ids import named_id


class WebRTCMode(StrEnum):
    """How WebRTC is guarded. The launch policy (no non-proxied UDP) always applies."""

    PROXIED = "proxied"  # WebRTC works, candidates only through the proxy (none leak)
    BLOCK = "block"  # no RTCPeerConnection at all


def profile_id(name: str) -> UUID:
    """Profiles are unique by name."""
    return named_id("privacy-profile", name.casefold())


class PrivacyProfile(Aggregate):
    """A named, persisted privacy profile."""

    @event("PrivacyProfileCreated")
    def __init__(self, id: UUID, name: str, fingerprint: dict[str, Any], locale: str,
                 timezone: str, follow_proxy_country: bool, webrtc: str,
                 tracker_blocking: bool) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self.locale = locale
        self.timezone = timezone
        self.follow_proxy_country = follow_proxy_country
        self.webrtc = webrtc
        self.tracker_blocking = tracker_blocking
        self.removed = False

    def values(self) -> Fingerprint:
        """The stored fingerprint as a model."""
        return Fingerprint.model_validate(self.fingerprint)

    def change(self, **changes: Any) -> bool:
        """Change settings (locale, timezone, follow_proxy_country, webrtc, tracker_blocking);
        returns whether anything changed."""
        effective = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if effective:
            self._settings_changed(changes=effective)
        return bool(effective)

    @event("PrivacySettingsChanged")
    def _settings_changed(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    @event("FingerprintRegenerated")
    def regenerate(self, fingerprint: dict[str, Any]) -> None:
        """Replace the fingerprint (an explicit user action)."""
        self.fingerprint = fingerprint

    @event("PrivacyProfileRemoved")
    def remove(self) -> None:
        """Gone: tabs can no longer use it (its name can be used again)."""
        self.removed = True

    @event("PrivacyProfileRecreated")
    def recreate(self, name: str, fingerprint: dict[str, Any], locale: str, timezone: str,
                 follow_proxy_country: bool) -> None:
        """A removed profile's name used again (in any case): a new profile, default
        settings."""
        self.name = name
        self.fingerprint = fingerprint
        self.locale = locale
        self.timezone = timezone
        self.follow_proxy_country = follow_proxy_country
        self.webrtc = WebRTCMode.PROXIED.value
        self.tracker_blocking = False
        self.removed = False
