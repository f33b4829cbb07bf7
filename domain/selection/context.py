"""What a strategy may know about the request it picks a proxy for."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field


class SelectionContext(BaseModel):
    """The request: target URL/domain, wanted country, tab, and the time of the pick."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    domain: str | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    tab_id: str | None = None
    now: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def target_domain(self) -> str | None:
        """The domain, from ``domain`` or else from ``url``, lower case."""
        if self.domain:
            return self.domain.lower().rstrip(".")
        if self.url:
            host = urlsplit(self.url).hostname
            return host.lower().rstrip(".") if host else None
        return None

    def summary(self) -> dict[str, str]:
        """The non-empty fields as text, for the RotationApplied event."""
        data = self.model_dump(mode="json", exclude_none=True)
        return {k: str(v) for k, v in data.items()}
