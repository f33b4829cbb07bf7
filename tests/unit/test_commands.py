"""Command models: every field validated, unknown fields refused, secrets never printed."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError as PydanticValidationError

from domain.commands import AddProxy, ListProxies, SetRotation, UpdateProxy, ValidateProxy
from domain.errors import ValidationError
from domain.parsing import parse_command

GOOD = {"protocol": "socks5", "host": "10.0.0.7", "port": 1080}


def test_add_proxy_accepts_a_good_payload() -> None:
    cmd = parse_command(AddProxy, {**GOOD, "username": "u", "password": "p", "tags": ["a"]})
    assert cmd.endpoint() == "socks5://10.0.0.7:1080"
    assert cmd.weight == 1 and cmd.tags == ("a",)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"protocol": "ftp"}, "protocol"),
        ({"host": "<script>"}, "host"),
        ({"host": "x" * 256}, "host"),
        ({"username": "u" * 256, "password": "p"}, "username"),
        ({"username": "u", "password": "p" * 256}, "password"),
        ({"label": "<b>hi</b>"}, "label"),
        ({"country": "Germany"}, "country"),
        ({"weight": 0}, "weight"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_add_proxy_errors_name_the_field(patch: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_command(AddProxy, {**GOOD, **patch})
    assert info.value.field == field
    assert info.value.exit_code == 2


def test_password_without_username_is_refused() -> None:
    with pytest.raises(ValidationError, match="password given without username"):
        parse_command(AddProxy, {**GOOD, "password": "p"})


def test_secrets_never_appear_in_repr_or_errors() -> None:
    cmd = parse_command(AddProxy, {**GOOD, "username": "alice", "password": "hunter2-secret"})
    assert "hunter2-secret" not in repr(cmd) and "alice" not in repr(cmd)
    with pytest.raises(ValidationError) as info:
        parse_command(AddProxy, {**GOOD, "username": "alice", "password": "x\x00hunter2"})
    assert "hunter2" not in str(info.value)


def test_commands_are_frozen() -> None:
    cmd = parse_command(AddProxy, GOOD)
    with pytest.raises(PydanticValidationError, match="frozen"):
        cmd.port = 1  # type: ignore[misc]


def test_update_needs_a_change() -> None:
    with pytest.raises(ValidationError, match="nothing to update"):
        parse_command(UpdateProxy, {"proxy_id": str(uuid.uuid4())})
    cmd = parse_command(UpdateProxy, {"proxy_id": str(uuid.uuid4()), "port": 8080,
                                      "tags": ["x"]})
    assert cmd.plain_changes() == {"port": 8080, "tags": ["x"]}


def test_update_cannot_clear_and_set_credentials() -> None:
    with pytest.raises(ValidationError):
        parse_command(UpdateProxy, {"proxy_id": str(uuid.uuid4()), "clear_credentials": True,
                                    "username": "u"})


def test_set_rotation_validates_and_fills_params() -> None:
    cmd = parse_command(SetRotation, {"strategy": "time_based",
                                      "params": {"interval_seconds": 30}})
    assert cmd.params == {"interval_seconds": 30, "jitter_seconds": 0, "windows": []}
    with pytest.raises(ValidationError, match="ttl_seconds"):
        parse_command(SetRotation, {"strategy": "sticky_session", "params": {"ttl_seconds": 0}})
    with pytest.raises(ValidationError, match=r"rules\.0\.url_pattern: is not a pattern RE2"):
        parse_command(SetRotation, {"strategy": "custom", "params": {"rules": [
            {"url_pattern": "(?<=shop)cart", "action": "use_country", "target": "DE"}]}})
    with pytest.raises(ValidationError, match="speed: Extra inputs"):
        parse_command(SetRotation, {"strategy": "round_robin", "params": {"speed": 1}})


def test_validate_needs_exactly_one_target() -> None:
    with pytest.raises(ValidationError):
        parse_command(ValidateProxy, {})
    with pytest.raises(ValidationError):
        parse_command(ValidateProxy, {"proxy_id": str(uuid.uuid4()), "all": True})
    assert parse_command(ValidateProxy, {"all": True}).all


def test_list_limits() -> None:
    assert parse_command(ListProxies, {}).limit == 1000
    with pytest.raises(ValidationError) as info:
        parse_command(ListProxies, {"limit": 0})
    assert info.value.field == "limit"


def test_payload_must_be_an_object() -> None:
    with pytest.raises(ValidationError, match="JSON object"):
        parse_command(AddProxy, ["not", "a", "dict"])


@pytest.mark.parametrize(("patch", "field", "reason"), [
    ({"location": "Berlin,Berlin,Germany"}, "location", "needs --country"),
    ({"country": "DE", "location": "X" * 64}, "location", "at most 63 bytes"),
    ({"country": "DE", "location": "<script>alert(1)</script>"}, "location", ""),
    ({"country": "DE", "language": "German"}, "language", ""),
    ({"country": "DE", "any_exit_country": "sometimes"}, "any_exit_country", ""),
])
def test_a_keyword_place_is_checked_at_the_boundary(patch: dict[str, object], field: str,
                                                    reason: str) -> None:
    from domain.rank_commands import AddKeyword

    with pytest.raises(ValidationError) as info:
        parse_command(AddKeyword, {"keyword": "pizza", "engine": "google", **patch})
    assert info.value.field == field and reason in info.value.message


def test_a_search_names_keywords_one_way() -> None:
    from domain.rank_commands import StartSearch

    both = {"keyword": "a", "keywords": ["b"]}
    with pytest.raises(ValidationError, match="give keyword or keywords"):
        parse_command(StartSearch, both)
    named = parse_command(StartSearch, {"keywords": ["b", "a", "b"], "country": "DE",
                                        "location": " Köln , NRW,Germany"})
    assert named.named == ["b", "a"] and named.location == "Köln,NRW,Germany"
    assert parse_command(StartSearch, {}).named is None
