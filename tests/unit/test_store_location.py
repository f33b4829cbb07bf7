"""``VIPB_STORE``: what a PostgreSQL URL may hold (never a password), where the password
comes from instead, and the SQL rewriting for PostgreSQL (placeholders, types, refusals)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sql import PgLocation, UnportableSQLError, store_password, to_postgres
from domain.errors import ValidationError


def test_a_url_names_user_host_port_database_and_schema() -> None:
    loc = PgLocation.parse("postgresql://vipb@db.example:6543/tracking?schema=eu")
    assert (loc.user, loc.host, loc.port, loc.dbname, loc.schema) == (
        "vipb", "db.example", 6543, "tracking", "eu")
    assert loc.schema_of("events") == "eu" and loc.schema_of("views") == "eu_views"
    assert loc.display() == "postgresql://vipb@db.example:6543/tracking?schema=eu"
    assert PgLocation.parse("postgres://u@[::1]/d").display() == "postgresql://u@[::1]:5432/d"


@pytest.mark.parametrize(("url", "reason"), [
    ("postgresql://vipb:s3cret@db/vipb", "must not carry a password"),
    ("postgresql://vipb:@db/vipb", "must not carry a password"),
    ("mysql://vipb@db/vipb", "expected postgresql://"),
    ("postgresql://db/vipb", "user, host and database name"),
    ("postgresql://vipb@db/", "user, host and database name"),
    ("postgresql://vipb@db/vipb?sslmode=disable", "unknown URL option 'sslmode'"),
    ("postgresql://vipb@db/vipb?schema=Bad-Name", "schema must be"),
    ("postgresql://vipb@db:99999/vipb", "not a valid URL"),
])
def test_a_bad_url_is_refused_naming_the_setting(url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PgLocation.parse(url)
    assert caught.value.field == "store" and reason in caught.value.message
    assert "s3cret" not in caught.value.message


def test_the_password_comes_from_the_credential_then_the_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("VIPB_STORE_PASSWORD", raising=False)
    assert store_password() == ""  # libpq's own sources (pgpass, service file)
    monkeypatch.setenv("VIPB_STORE_PASSWORD", "from-env")
    assert store_password() == "from-env"
    (tmp_path / "vipb-store-password").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert store_password() == "from-systemd"
    assert "password" in PgLocation.parse("postgresql://u@h/d").connect_kwargs()


def test_sqlite_spelled_sql_is_rewritten_and_sqlite_only_sql_refused() -> None:
    assert to_postgres("SELECT a FROM t WHERE b = ? AND c LIKE '50%'", True) == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '50%%'")
    assert to_postgres("SELECT '?' FROM t", False) == "SELECT '?' FROM t"
    assert to_postgres("BEGIN IMMEDIATE", False) == "BEGIN"
    assert to_postgres("INSERT OR IGNORE INTO t VALUES (?)", True) == (
        "INSERT INTO t VALUES (%s) ON CONFLICT DO NOTHING")
    ddl = to_postgres("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, "
                      "r REAL, b BLOB, s TEXT COLLATE NOCASE)", False)
    assert ddl == ("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, n BIGINT NOT NULL, "
                   "r DOUBLE PRECISION, b BYTEA, s TEXT)")
    for sql in ("INSERT OR REPLACE INTO t VALUES (1)", "PRAGMA table_info(t)",
                "SELECT rowid FROM t"):
        with pytest.raises(UnportableSQLError):
            to_postgres(sql, False)
