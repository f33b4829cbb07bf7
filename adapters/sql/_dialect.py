"""Our SQL, written once for SQLite, run on PostgreSQL.

The read models, the key store and the audit chain are hand-written SQL in the subset both
engines share (``INSERT ... ON CONFLICT (...) DO UPDATE``, ``COALESCE``, standard joins and
aggregates). What still differs is spelled the SQLite way and rewritten here, statement by
statement (cached): ``?`` placeholders, ``BEGIN IMMEDIATE``, ``INSERT OR IGNORE``, and column
types in DDL (``INTEGER`` is 64-bit in SQLite, ``REAL`` is a double). Anything else SQLite-only
(``INSERT OR REPLACE``, ``PRAGMA``, ``rowid``) is refused loudly so a test on PostgreSQL fails
at the statement rather than with a wrong answer.

Why not an ORM or SQLAlchemy Core: the SQL is the documented read-model schema users query
with their own tools; keeping it as SQL keeps the SQLite default at its measured speed (the
SQLite path executes the strings unchanged) and the translation is a handful of token rules.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKENS = re.compile(r"""('(?:[^']|'')*')|("(?:[^"]|"")*")|(\?)|(%)|([^'"?%]+)""", re.S)
_DDL = re.compile(r"^\s*(CREATE|ALTER)\s+(TABLE|(UNIQUE\s+)?INDEX)\b", re.I)
_REFUSED = re.compile(r"\bINSERT\s+OR\s+REPLACE\b|^\s*PRAGMA\b|\browid\b", re.I)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_BEGIN = re.compile(r"^\s*BEGIN\s+(IMMEDIATE|DEFERRED|EXCLUSIVE)\s*$", re.I)
_TYPES = [
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.I), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
    (re.compile(r"\s+COLLATE\s+NOCASE\b", re.I), ""),
    (re.compile(r"\s+WITHOUT\s+ROWID\b", re.I), ""),
]


class UnportableSQLError(ValueError):
    """A statement uses SQLite-only SQL that has no rewrite here."""


@lru_cache(maxsize=4096)
def to_postgres(sql: str, with_params: bool) -> str:
    """``sql`` as PostgreSQL (psycopg) expects it; ``with_params``: parameters will be
    passed, so placeholders become ``%s`` and a literal ``%`` is doubled."""
    begin = _BEGIN.match(sql)
    if begin:
        return "BEGIN"
    outside = "".join(m.group(5) or "" for m in _TOKENS.finditer(sql))
    if _REFUSED.search(outside):
        raise UnportableSQLError(f"SQLite-only SQL has no PostgreSQL form here: {sql.strip()!r}")
    parts: list[str] = []
    ddl = bool(_DDL.match(sql))
    for quoted, ident, mark, percent, text in _TOKENS.findall(sql):
        if quoted:
            parts.append(quoted.replace("%", "%%") if with_params else quoted)
        elif ident:
            parts.append(ident.replace("%", "%%") if with_params else ident)
        elif mark:
            parts.append("%s" if with_params else mark)
        elif percent:
            parts.append("%%" if with_params else "%")
        else:
            if ddl:
                for pattern, replacement in _TYPES:
                    text = pattern.sub(replacement, text)
            parts.append(text)
    out = "".join(parts)
    if _OR_IGNORE.search(out):
        out = _OR_IGNORE.sub("INSERT INTO", out, count=1)
        returning = _RETURNING.search(out)
        if returning:
            out = f"{out[:returning.start()]}ON CONFLICT DO NOTHING {out[returning.start():]}"
        else:
            out = f"{out.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
    return out
