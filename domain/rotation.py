"""Rotation strategies by name and the parameters each one accepts.

The strategies themselves (selection logic) live with the proxy engine; the domain only knows
which names exist and validates their parameters so a bad configuration is refused up front.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from domain import rules
from domain.parsing import first_error


class StrategyName(StrEnum):
    """Every rotation strategy the proxy engine knows."""

    ROUND_ROBIN = "round_robin"
    RANDOM = "random"
    WEIGHTED = "weighted"
    FASTEST = "fastest"
    LEAST_USED = "least_used"
    FAILURE_AWARE = "failure_aware"
    GEOGRAPHIC = "geographic"
    STICKY_SESSION = "sticky_session"
    TIME_BASED = "time_based"
    CUSTOM = "custom"
    FAILOVER = "failover"


Country = Annotated[str, AfterValidator(rules.check_country)]
Pattern = Annotated[str, AfterValidator(rules.check_pattern)]


def _split_csv(value: Any) -> Any:
    """``"US,DE"`` or ``"US"`` (from ``--param countries=US``) as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


Csv = BeforeValidator(_split_csv)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(_Params):
    """Strategies without parameters."""


class RandomParams(_Params):
    """``seed`` makes the choice reproducible (tests, audits)."""

    seed: int | None = None


class FailureAwareParams(_Params):
    """Recent success rate (weighted towards the last ~10 outcomes); below
    ``min_success_rate`` a proxy is used only when nothing better is available."""

    min_success_rate: float = Field(default=0.5, ge=0.0, le=1.0)


class GeographicParams(_Params):
    """Preferred countries in order, then preferred regions, excluded countries, and whether
    to fall back to any other proxy."""

    countries: Annotated[tuple[Country, ...], Csv] = Field(default=(), max_length=50)
    exclude: Annotated[tuple[Country, ...], Csv] = Field(default=(), max_length=50)
    regions: Annotated[tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")], ...],
                       Csv] = Field(default=(), max_length=50)
    fallback_any: bool = True


Wildcard = Annotated[str, Field(pattern=r"^(\*\.)?([a-z0-9-]{1,63}\.)+[a-z]{2,63}$",
                                max_length=255)]


class StickyParams(_Params):
    """A domain keeps its proxy until ``ttl_seconds`` after its last use; subdomains of a
    ``*.example.com`` pattern share one binding."""

    ttl_seconds: int = Field(default=1800, ge=1, le=30 * 86400)
    wildcards: Annotated[tuple[Wildcard, ...], Csv] = Field(default=(), max_length=500)


Window = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")]


class TimeBasedParams(_Params):
    """Rotate every ``interval_seconds`` give or take ``jitter_seconds``; with ``windows``
    (``"HH:MM-HH:MM"`` UTC, may wrap midnight) timed rotation happens only inside them."""

    interval_seconds: int = Field(default=600, ge=1, le=7 * 86400)
    jitter_seconds: int = Field(default=0, ge=0, le=86400)
    windows: Annotated[tuple[Window, ...], Csv] = Field(default=(), max_length=48)


DomainGlob = Annotated[str, Field(pattern=r"^(\*\.)?([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}$",
                                 max_length=255)]
Tag = Annotated[str, AfterValidator(lambda v: rules.check_text(v, max_len=40))]


class Rule(_Params):
    """One custom rule: request conditions (all must hold), proxy filters, an action.

    Conditions: ``domain`` (``shop.example.com`` or ``*.example.com``), ``url_pattern`` (a
    safe regex searched in the URL), ``path_prefix``, ``hours`` (0-23, UTC), ``weekdays``
    (0 = Monday). Proxy filters narrow the proxies the action applies to: ``countries``,
    ``max_latency_ms``, ``min_success_rate``, ``tags`` (all required).
    Actions: ``use_proxy``/``exclude_proxy`` (target: proxy id), ``use_country``/
    ``exclude_country`` (target: country code). Lower ``priority`` goes first.
    """

    priority: int = Field(default=100, ge=0, le=10_000)
    domain: DomainGlob | None = None
    url_pattern: Pattern | None = None
    path_prefix: str | None = Field(default=None, pattern=r"^/[^\s]{0,200}$")
    hours: Annotated[tuple[Annotated[int, Field(ge=0, le=23)], ...], Csv] = ()
    weekdays: Annotated[tuple[Annotated[int, Field(ge=0, le=6)], ...], Csv] = ()
    countries: Annotated[tuple[Country, ...], Csv] = ()
    max_latency_ms: float | None = Field(default=None, gt=0)
    min_success_rate: float | None = Field(default=None, ge=0, le=1)
    tags: Annotated[tuple[Tag, ...], Csv] = ()
    action: Literal["use_proxy", "exclude_proxy", "use_country", "exclude_country"]
    target: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _target_fits_action(self) -> Rule:
        if self.action.endswith("country"):
            object.__setattr__(self, "target", rules.check_country(self.target))
        elif not re.fullmatch(r"[0-9a-fA-F-]{32,36}", self.target):
            raise ValueError("target of a proxy action must be a proxy id")
        return self


class CustomParams(_Params):
    """Priority-ordered rules, then the ``fallback`` strategy among what the rules allow."""

    fallback: StrategyName = StrategyName.ROUND_ROBIN
    rules: tuple[Rule, ...] = Field(default=(), max_length=200)

    @model_validator(mode="after")
    def _fallback_is_not_custom(self) -> CustomParams:
        if self.fallback in (StrategyName.CUSTOM, StrategyName.FAILOVER):
            raise ValueError("fallback must be a strategy without parameters of its own")
        return self


class FailoverParams(_Params):
    """Primary proxy id then ordered backups (ids as text)."""

    primary: str = Field(pattern=r"^[0-9a-fA-F-]{32,36}$")
    backups: Annotated[tuple[Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{32,36}$")], ...],
                       Csv] = Field(default=(), max_length=50)


PARAMS: dict[StrategyName, type[_Params]] = {
    StrategyName.ROUND_ROBIN: NoParams,
    StrategyName.RANDOM: RandomParams,
    StrategyName.WEIGHTED: RandomParams,
    StrategyName.FASTEST: NoParams,
    StrategyName.LEAST_USED: NoParams,
    StrategyName.FAILURE_AWARE: FailureAwareParams,
    StrategyName.GEOGRAPHIC: GeographicParams,
    StrategyName.STICKY_SESSION: StickyParams,
    StrategyName.TIME_BASED: TimeBasedParams,
    StrategyName.CUSTOM: CustomParams,
    StrategyName.FAILOVER: FailoverParams,
}


def validate_params(strategy: StrategyName, params: dict[str, Any]) -> dict[str, Any]:
    """Validate ``params`` for ``strategy`` and return them with defaults filled in.

    Raises ``ValueError`` naming the offending parameter so the boundary can report it.
    """
    model = PARAMS[strategy]
    try:
        parsed = model.model_validate(params)
    except PydanticValidationError as exc:
        error = first_error(exc)  # its message names the field
        where = "" if error.field else "params: "
        raise ValueError(f"{strategy.value} parameter {where}{error.message}") from None
    return parsed.model_dump(mode="json")
