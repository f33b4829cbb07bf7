"""Turn raw payloads into command models, with pydantic errors as one-line ``ValidationError``."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from domain.errors import ValidationError

M = TypeVar("M", bound=BaseModel)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMED = re.compile(r"([a-z_]{1,40}): (.+)", re.DOTALL)
_PLAIN_FIELD = re.compile(r"[A-Za-z0-9_.\-]{1,80}")  # fullmatch: "$" allows a "\n"


def first_error(exc: PydanticValidationError) -> ValidationError:
    """The first pydantic error as our ValidationError: field path and reason, never the input."""
    err = exc.errors(include_input=False, include_url=False)[0]
    field = ".".join(str(part) for part in err["loc"]) or None
    if field is not None and not _PLAIN_FIELD.fullmatch(field):
        field = repr(field[:60])  # unknown keys come from the client: show them escaped
    message = str(err["msg"]).removeprefix("Value error, ")
    named = _NAMED.match(message) if field is None else None
    if named:  # a model validator names the field it refuses as "field: reason"
        field, message = named.group(1), named.group(2)
    # some messages quote an offending character; keep every error on one line
    message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)
    return ValidationError(message, field=field)


def parse_command(model: type[M], payload: Any, *, strict: bool = False) -> M:
    """Validate ``payload`` into ``model`` or raise ``ValidationError``.

    ``strict`` is for payloads that arrive as JSON from outside (the control socket): the
    payload is validated as JSON in pydantic's strict mode, so ``true`` is not the port 1,
    ``"5"`` is not a number and ``2.0`` is not an integer, while strings still name UUIDs,
    enums and times as JSON must.
    """
    if not isinstance(payload, dict):
        raise ValidationError("payload must be a JSON object", field="payload")
    try:
        if strict:
            return model.model_validate_json(orjson.dumps(payload), strict=True)
        return model.model_validate(payload)
    except PydanticValidationError as exc:
        raise first_error(exc) from None
    except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits
        raise ValidationError(f"cannot be encoded as JSON ({exc})", field="payload") from None
