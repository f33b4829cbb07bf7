"""The error hierarchy every layer raises; each carries a user-facing one-line message.

``exit_code`` is what the CLI exits with: 2 for input the user can correct, 1 otherwise.
"""

from __future__ import annotations


class BaseError(Exception):
    """Root of all vipb errors; ``str(err)`` is a one-line message fit for a user."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = f"{field}: {message}" if field else message
        super().__init__(self.message)

    def details(self) -> dict[str, str | int | float | bool]:
        """What the error carries besides its message (``field``, ``proxy_id``, ...), as the
        reply envelope sends it so that a client revives the same error."""
        return {k: v for k, v in vars(self).items()
                if k != "message" and isinstance(v, str | int | float | bool)}


class ValidationError(BaseError):
    """Input failed validation at the boundary; nothing was written."""

    exit_code = 2
    code = "validation_error"


class ProxyError(BaseError):
    """Something is wrong with a proxy or a request about one."""

    code = "proxy_error"


class ProxyNotFoundError(ProxyError):
    """No proxy has the given id (or it was removed)."""

    exit_code = 2
    code = "proxy_not_found"

    def __init__(self, proxy_id: str) -> None:
        super().__init__(f"no proxy with id {proxy_id!r} (see `vipb proxy list`)")
        self.proxy_id = proxy_id


class DuplicateProxyError(ProxyError):
    """A proxy with the same protocol, host, port and username already exists."""

    exit_code = 2
    code = "duplicate_proxy"

    def __init__(self, endpoint: str, existing_id: str) -> None:
        super().__init__(f"{endpoint} is already in the pool as proxy {existing_id}")
        self.existing_id = existing_id


class CheckTargetError(ProxyError):
    """A validation failed because of its check URL, not the proxies; nothing was recorded."""

    code = "check_target_failed"

    def __init__(self, check_url: str, reason: str) -> None:
        super().__init__(f"the check URL {check_url} failed, not the proxies: {reason}; "
                         "nothing was recorded (fix --check-url or VIPB_CHECK_URL)")
        self.check_url = check_url


class ProxyConnectionError(ProxyError):
    """A connection through a proxy could not be made."""

    code = "proxy_connection_failed"


class AutomationError(BaseError):
    """A rank-tracking or scheduling task could not run."""

    code = "automation_error"


class DatabaseError(BaseError):
    """The event store or a read model could not be read or written."""

    code = "database_error"


class ViewsRebuiltError(DatabaseError):
    """A read found the views database damaged: it was set aside and the views rebuilt from
    the events; the same read again gets the whole answer."""

    code = "views_rebuilt"


class ConcurrencyError(DatabaseError):
    """Another writer changed the same aggregate first; the command can be retried."""

    code = "concurrency_conflict"


class ActorDownError(BaseError):
    """A command needs an actor that has died (see `vipb status`)."""

    code = "actor_down"


class SecurityError(BaseError):
    """A security rule refused the request (keys, permissions, limits)."""

    code = "security_error"


class RateLimitError(SecurityError):
    """A channel's rate limit was exceeded; ``retry_after`` says when to come back."""

    code = "rate_limited"

    def __init__(self, channel: str, retry_after: float) -> None:
        super().__init__(f"rate limit for {channel} exceeded; retry in {retry_after:.1f}s")
        self.retry_after = retry_after


class BrowserError(BaseError):
    """The browser could not be found, started, or asked to do something."""

    code = "browser_error"


class EgressRefusedError(BrowserError):
    """The egress guard refused what a page load reached for (a private address): loading
    it again cannot help."""

    code = "egress_refused"


class ProxyFaultError(BrowserError):
    """A page load failed and its proxy is to blame (it refused, reset or stayed silent on a
    fresh tunnel too, or Chromium named it): it counts against the proxy's breaker."""

    code = "proxy_fault"


class BrowserNotFoundError(BrowserError):
    """No Chromium executable was found."""

    code = "browser_not_found"


class TabNotFoundError(BrowserError):
    """No open tab has the given id."""

    exit_code = 2
    code = "tab_not_found"

    def __init__(self, tab_id: str) -> None:
        super().__init__(f"no open tab with id {tab_id!r} (see `vipb tab list`)")
        self.tab_id = tab_id


class ProfileNotFoundError(BaseError):
    """No privacy profile has the given id or name."""

    exit_code = 2
    code = "profile_not_found"

    def __init__(self, profile: str) -> None:
        super().__init__(f"no privacy profile {profile!r} (see `vipb privacy list`)")
        self.profile = profile
