"""Command models for the ``tab:*``, ``privacy:*`` and ``session:*`` channels."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from domain import rules
from domain.commands import Command, Country, Label
from domain.cron import check_timezone
from domain.privacy import WebRTCMode
from domain.results import Ack

HttpUrl = Annotated[str, Field(max_length=2048), AfterValidator(rules.check_http_url)]
ProfileName = Annotated[str, Field(min_length=1, max_length=64),
                        AfterValidator(lambda v: rules.check_text(v, max_len=64))]
SessionName = ProfileName
TabId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$|^[0-9a-f-]{36}$")]
ProxyChoice = Annotated[str, Field(pattern=r"^(auto|direct|[0-9a-f]{32}|[0-9a-f-]{36})$")]
OsName = Literal["windows", "macos", "linux", "android"]  # android: a phone (mobile)
Locale = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
TimeZone = Annotated[str, Field(pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+){0,2}$", max_length=64),
                     AfterValidator(check_timezone)]  # a name the zone database knows
DEFAULT_PROFILE = "default"
DEFAULT_MOBILE_PROFILE = "default-mobile"  # a phone, created on first use like "default"


class CreateTab(Command):
    """Open a tab: a new browser context with its own proxy and privacy profile.

    ``proxy`` is ``auto`` (the rotation engine picks), a proxy id, or ``direct`` (no proxy,
    explicitly).

    Example: {"url": "https://example.com", "profile": "berlin", "proxy": "auto"}
    """

    channel: ClassVar[str] = "tab:create"
    rate_limit: ClassVar[int | None] = 50
    url: HttpUrl | None = None
    profile: ProfileName = DEFAULT_PROFILE
    proxy: ProxyChoice = "auto"
    country: Country | None = None  # wanted proxy country for ``auto``
    label: Label | None = None


class TabRef(Command):
    """A command that targets one open tab."""

    tab_id: TabId


class CloseTab(TabRef):
    """Close a tab (its tracker stats are recorded first).

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0"}
    """

    channel: ClassVar[str] = "tab:close"
    rate_limit: ClassVar[int | None] = 50


class NavigateTab(TabRef):
    """Load a URL in a tab.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0", "url": "https://example.com/pricing"}
    """

    channel: ClassVar[str] = "tab:navigate"
    rate_limit: ClassVar[int | None] = 100
    url: HttpUrl


class UpdateTab(TabRef):
    """Change a tab's label.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0", "label": "pricing page"}
    """

    channel: ClassVar[str] = "tab:update"
    label: Label | None


class AssignTabProxy(TabRef):
    """Move a tab to another proxy (``auto``, an id, or ``direct``); the page is reloaded.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0", "proxy": "auto", "country": "FR"}
    """

    channel: ClassVar[str] = "tab:assign-proxy"
    proxy: ProxyChoice = "auto"
    country: Country | None = None


class GoBack(TabRef):
    """Go back one history entry.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0"}
    """

    channel: ClassVar[str] = "tab:go-back"


class GoForward(TabRef):
    """Go forward one history entry.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0"}
    """

    channel: ClassVar[str] = "tab:go-forward"


class ReloadTab(TabRef):
    """Reload the current page.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0"}
    """

    channel: ClassVar[str] = "tab:reload"


class ListProfiles(Command):
    """Privacy profiles from the read model, by name.

    Example: {}
    """

    channel: ClassVar[str] = "privacy:list"
    rate_limit: ClassVar[int | None] = 100


class ListTabs(Command):
    """List tabs from the read model.

    Example: {"include_closed": true}
    """

    channel: ClassVar[str] = "tab:list"
    include_closed: bool = False
    limit: int = Field(default=1000, ge=1, le=100_000)


class SetFingerprint(Command):
    """Create a privacy profile, or regenerate an existing profile's fingerprint
    (``regenerate=true``).

    Example: {"profile": "berlin", "os": ["windows"], "locale": "de-DE"}
    """

    channel: ClassVar[str] = "privacy:set-fingerprint"
    rate_limit: ClassVar[int | None] = 20
    profile: ProfileName
    os: tuple[OsName, ...] = ("windows", "macos", "linux")
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    locale: Locale | None = None
    timezone: TimeZone | None = None
    follow_proxy_country: bool = False
    regenerate: bool = False

    @model_validator(mode="after")
    def _some_os(self) -> SetFingerprint:
        if not self.os:
            raise ValueError("give at least one os")
        if "android" in self.os and len(set(self.os)) > 1:
            raise ValueError("android (a phone) cannot be mixed with desktop systems")
        return self


class RemoveProfile(Command):
    """Remove a privacy profile no open tab and no schedule uses (its history stays on
    record; the name can be used again, for a new fingerprint).

    Example: {"profile": "berlin"}
    """

    channel: ClassVar[str] = "privacy:remove"
    rate_limit: ClassVar[int | None] = 20
    reply: ClassVar[Any] = Ack
    profile: ProfileName


class ToggleWebRTC(Command):
    """Choose a profile's WebRTC guard: ``proxied`` (no leaking candidates) or ``block``.

    Example: {"profile": "berlin", "mode": "block"}
    """

    channel: ClassVar[str] = "privacy:toggle-webrtc"
    reply: ClassVar[Any] = Ack
    profile: ProfileName = DEFAULT_PROFILE
    mode: WebRTCMode


class ToggleTrackerBlocking(Command):
    """Turn tracker blocking on or off for a profile (applies to tabs opened afterwards).

    Example: {"profile": "berlin", "enabled": true}
    """

    channel: ClassVar[str] = "privacy:toggle-tracker-blocking"
    reply: ClassVar[Any] = Ack
    profile: ProfileName = DEFAULT_PROFILE
    enabled: bool


class GetPrivacyStats(Command):
    """Tracker-blocking counts: recorded summaries plus what open tabs counted since.

    Example: {"tab_id": "5f1c2d3e4b5a69788796a5b4c3d2e1f0"}
    """

    channel: ClassVar[str] = "privacy:get-stats"
    rate_limit: ClassVar[int | None] = 120
    tab_id: TabId | None = None


class SaveSession(Command):
    """Store the open tabs (URL, proxy, profile) under a name.

    Example: {"name": "morning"}
    """

    channel: ClassVar[str] = "session:save"
    rate_limit: ClassVar[int | None] = 10
    name: SessionName
    tab_ids: tuple[TabId, ...] | None = None  # default: every open tab


class LoadSession(Command):
    """Reopen the tabs of a saved session.

    Example: {"name": "morning"}
    """

    channel: ClassVar[str] = "session:load"
    rate_limit: ClassVar[int | None] = 10
    name: SessionName


class ListSessions(Command):
    """List saved sessions.

    Example: {}
    """

    channel: ClassVar[str] = "session:list"


TAB_COMMANDS: dict[str, type[Command]] = {
    cls.channel: cls
    for cls in (CreateTab, CloseTab, NavigateTab, UpdateTab, AssignTabProxy, GoBack, GoForward,
                ReloadTab, ListTabs, SetFingerprint, RemoveProfile, ToggleWebRTC,
                ToggleTrackerBlocking,
                GetPrivacyStats, SaveSession, LoadSession, ListSessions, ListProfiles)
}
