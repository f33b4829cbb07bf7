"""Read queries of rank tracking on the read-model file: target domains, keywords, search
tasks and their outcomes, position history with the change since the previous search,
schedules. Plain SELECTs; rows as JSON-ready dicts (the shape the CLI and the socket reply)."""

from __future__ import annotations

import json
from typing import Any

from domain.ranking import movement
from projections.sql import Connection, Row


def outcomes(conn: Connection, task_ids: list[str]) -> list[dict[str, Any]]:
    """Each task's state and, when completed, its position per target domain (a task the
    views do not know yet: state ``unknown``)."""
    marks = ",".join("?" * len(task_ids))
    tasks = {r["id"]: dict(r) for r in conn.execute(
        f"SELECT * FROM search_tasks WHERE id IN ({marks})", task_ids)}
    rows = conn.execute(
        f"SELECT task_id, domain, position, url, title, results_scanned, exit_country, "
        f"revised, original_position FROM position_history WHERE task_id IN ({marks}) "
        f"ORDER BY domain", task_ids)
    positions: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        positions.setdefault(r["task_id"], []).append(
            {"domain": r["domain"], "position": r["position"], "url": r["url"],
             "title": r["title"], "results_scanned": r["results_scanned"],
             "exit_country": r["exit_country"], "revised": bool(r["revised"]),
             "original_position": r["original_position"]})
    result = []
    keep = ("id", "keyword", "engine", "country", "location", "language", "device", "state",
            "attempts", "proxy_id", "fetched_by", "exit_country", "exit_basis", "results_scanned",
            "error", "reason", "layout", "definition")
    for task_id in task_ids:
        row = tasks.get(task_id, {"id": task_id, "state": "unknown"})
        result.append({**{k: row.get(k) for k in keep},
                       "any_exit_country": bool(row.get("any_exit_country")),
                       "features": _features(row.get("features")),
                       "no_results": bool(row.get("no_results")),
                       "evidence": _list(row.get("evidence")),
                       "notices": _list(row.get("notices")),
                       "positions": positions.get(task_id, [])})
    return result


def domains(conn: Connection, include_removed: bool) -> list[dict[str, Any]]:
    """Target domains with their latest position, by name."""
    where = "" if include_removed else "WHERE state='active'"
    rows = conn.execute(f"SELECT * FROM target_domains {where} ORDER BY domain")
    return [{**dict(r), "include_subdomains": bool(r["include_subdomains"])} for r in rows]


def keywords(conn: Connection, include_removed: bool) -> list[dict[str, Any]]:
    """Tracked keywords by words, then engine."""
    where = "" if include_removed else "WHERE state='active'"
    return [dict(r) for r in conn.execute(
        f"SELECT * FROM keywords {where} ORDER BY keyword, engine")]


def tasks(conn: Connection, state: str | None, limit: int) -> list[dict[str, Any]]:
    """Search tasks, newest first, optionally in one state."""
    where, params = ("WHERE state=?", [state]) if state else ("", [])
    rows = conn.execute(f"SELECT * FROM search_tasks {where} ORDER BY queued_at DESC, "
                        f"id LIMIT ?", (*params, limit))
    return [{**dict(r), "domains": json.loads(r["domains"]),
             "any_exit_country": bool(r["any_exit_country"]),
             "features": _features(r["features"]), "evidence": _list(r["evidence"]),
             "notices": _list(r["notices"])} for r in rows]


# the columns a search's identity is made of: one keyword tracked one way
SEARCH = ("h.keyword", "h.engine", "coalesce(h.country, '')", "coalesce(h.location, '')",
          "coalesce(h.language, '')", "h.device")


def narrowed(domain: str | None = None, keyword: str | None = None,
             engine: str | None = None, country: str | None = None,
             device: str | None = None, location: str | None = None) -> tuple[list[str],
                                                                                list[Any]]:
    """SQL conditions (on ``position_history h``) and parameters for optional filters."""
    clauses, params = [], []
    for column, value in (("h.domain", domain), ("h.engine", engine),
                          ("h.country", country), ("h.device", device),
                          ("h.location", location)):
        if value is not None:
            clauses.append(f"{column}=?")
            params.append(value)
    if keyword is not None:
        clauses.append("lower(h.keyword)=lower(?)")
        params.append(keyword)
    return clauses, params


def positions(conn: Connection, domain: str | None, keyword: str | None,
              limit: int, engine: str | None = None, country: str | None = None,
              device: str | None = None, location: str | None = None) -> list[dict[str, Any]]:
    """Position history, newest first, with ``change`` (places gained since the same
    domain's previous search of the same keyword, engine, country, location, language and
    device); revised rows (a re-read of the stored pages) show the revised position."""
    clauses, params = narrowed(domain, keyword, engine, country, device, location)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    # previous_position: the same domain and search one search earlier (filters are on
    # partition columns, so they do not change what "earlier" is)
    window = f"PARTITION BY h.domain, {', '.join(SEARCH)} ORDER BY h.recorded_at"
    rows = conn.execute(
        f"SELECT h.*, t.features AS features, t.no_results AS no_results, "
        f"t.evidence AS evidence, t.exit_basis AS exit_basis, "
        f"LAG(h.position) OVER ({window}) AS previous_position, "
        f"LAG(h.recorded_at) OVER ({window}) AS previous_at "
        f"FROM position_history h LEFT JOIN search_tasks t ON t.id = h.task_id "
        f"{where} "
        f"ORDER BY h.recorded_at DESC, h.domain LIMIT ?", (*params, limit))
    return [{**dict(r), "ranked": bool(r["ranked"]), "revised": bool(r["revised"]),
             "change": _change(r), "no_results": bool(r["no_results"]),
             "features": _features(r["features"]), "evidence": _list(r["evidence"])}
            for r in rows]


def schedules(conn: Connection, include_removed: bool) -> list[dict[str, Any]]:
    """Schedules by name."""
    where = "" if include_removed else "WHERE state!='removed'"
    rows = conn.execute(f"SELECT * FROM schedules {where} ORDER BY name")
    return [{**dict(r), "keywords": json.loads(r["keywords"]) if r["keywords"] else None,
             "searches": bool(r["searches"]),
             "creators": json.loads(r["creators"]) if r["creators"] else None} for r in rows]


def _list(text: str | None) -> list[str]:
    """A JSON list column (evidence hashes, notices); empty when unset."""
    return list(json.loads(text)) if text else []


def _features(text: str | None) -> dict[str, int]:
    """A task row's SERP features (feature -> count); empty before features were recorded."""
    return json.loads(text) if text else {}


def _change(row: Any) -> int | None:
    """Places gained since the previous search (negative: lost); None when either search
    did not rank the domain or there is no previous search."""
    if row["position"] is None or row["previous_position"] is None:
        return None
    change: int = row["previous_position"] - row["position"]
    return change


def latest_positions(conn: Connection, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The latest search's position of each tracked keyword x target domain (per engine,
    country and device), for the ones it ranked: at most ``limit`` rows, and how many more
    there were."""
    rows = conn.execute(
        f"WITH latest AS (SELECT h.*, ROW_NUMBER() OVER (PARTITION BY {', '.join(SEARCH)}, "
        "h.domain ORDER BY h.recorded_at DESC) AS n "
        "FROM position_history h) "
        "SELECT l.keyword, l.engine, coalesce(l.country, '') AS country, "
        "coalesce(l.location, '') AS location, coalesce(l.language, '') AS language, "
        "l.device, l.domain, l.position FROM latest l "
        "JOIN keywords k ON k.keyword = l.keyword AND k.engine = l.engine "
        "AND coalesce(k.country, '') = coalesce(l.country, '') AND k.device = l.device "
        "AND coalesce(k.location, '') = coalesce(l.location, '') "
        "AND coalesce(k.language, '') = coalesce(l.language, '') AND k.state = 'active' "
        "JOIN target_domains d ON d.domain = l.domain AND d.state = 'active' "
        "WHERE l.n = 1 AND l.position IS NOT NULL "
        "ORDER BY l.keyword, l.engine, country, location, l.device, l.domain").fetchall()
    return [dict(r) for r in rows[:limit]], max(0, len(rows) - limit)


def search_outcomes(conn: Connection) -> dict[str, int]:
    """Finished searches by outcome (completed, failed, cancelled): counts only grow."""
    counts = dict.fromkeys(("completed", "failed", "cancelled"), 0)
    for state, count in conn.execute(
            "SELECT state, count(*) FROM search_tasks WHERE state IN "
            "('completed', 'failed', 'cancelled') GROUP BY state"):
        counts[state] = count
    return counts


def report(conn: Connection, domain: str | None, keyword: str | None,
           engine: str | None, device: str | None, since: str | None,
           limit: int, country: str | None = None,
           location: str | None = None) -> list[dict[str, Any]]:
    """One row per keyword x engine x country x location x language x device x domain
    searched in the period (from ``since``, an ISO time): latest, previous and best
    position (None: not ranked), change (places gained since the previous search), where
    it stood when the period began (``start``, ``start_at``: the last search before
    ``since``, else the period's first search) and the change since then
    (``change_since_start``, and ``movement`` in words: +3, -2, =, new, entered, lost),
    when it first ranked in the period, the latest search's SERP features, exit country,
    task (for its evidence) and whether its position was revised, and ``series``: every
    search's time, position and revised mark, oldest first. At most ``limit`` rows."""
    clauses, params = narrowed(domain, keyword, engine, country, device, location)
    starts = _positions_before(conn, clauses, params, since) if since is not None else {}
    if since is not None:
        clauses.append("h.recorded_at>=?")
        params.append(since)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT h.task_id, h.keyword, h.engine, h.country, h.location, h.language, "
        f"h.device, h.domain, h.position, h.recorded_at, h.url, h.exit_country, h.revised, "
        f"h.original_position, t.features AS features, t.evidence AS evidence "
        f"FROM position_history h LEFT JOIN search_tasks t ON t.id = h.task_id {where} "
        f"ORDER BY {', '.join(SEARCH)}, h.domain, h.recorded_at", params)
    grouped: dict[tuple[Any, ...], list[Row]] = {}
    for r in rows:
        grouped.setdefault((r["keyword"], r["engine"], r["country"], r["location"],
                            r["language"], r["device"], r["domain"]), []).append(r)
    result = []
    for key, history in list(grouped.items())[:limit]:
        kw, eng, place, loc, lang, dev, dom = key
        latest = history[-1]
        previous = history[-2]["position"] if len(history) > 1 else None
        ranked = [h for h in history if h["position"] is not None]
        change = (previous - latest["position"]
                  if previous is not None and latest["position"] is not None else None)
        # where the period started: the last search before it, else the period's first
        start = starts.get(key) or (history[0] if len(history) > 1 else None)
        start_position = start["position"] if start is not None else None
        result.append({
            "keyword": kw, "engine": eng, "country": place, "location": loc,
            "language": lang, "device": dev, "domain": dom,
            "latest": latest["position"], "previous": previous,
            "best": min((h["position"] for h in ranked), default=None), "change": change,
            "start": start_position,
            "start_at": start["recorded_at"] if start is not None else None,
            "change_since_start": (start_position - latest["position"]
                                   if start_position is not None
                                   and latest["position"] is not None else None),
            "movement": movement(latest["position"], start_position, start is not None),
            "first_seen": ranked[0]["recorded_at"] if ranked else None,
            "last_searched": latest["recorded_at"], "url": latest["url"],
            "exit_country": latest["exit_country"], "task_id": latest["task_id"],
            "evidence": _list(latest["evidence"]), "revised": bool(latest["revised"]),
            "original": latest["original_position"],
            "features": _features(latest["features"]),
            "series": [{"at": h["recorded_at"], "position": h["position"],
                        "revised": bool(h["revised"])} for h in history],
        })
    return result


def positions_as_of(conn: Connection, at: str | None, domain: str | None,
                    keyword: str | None, engine: str | None, country: str | None,
                    device: str | None, location: str | None) -> list[dict[str, Any]]:
    """Each keyword x search x domain's position in its last search at or before ``at``
    (an ISO time; None: its latest), with that search's time."""
    clauses, params = narrowed(domain, keyword, engine, country, device, location)
    if at is not None:
        clauses, params = [*clauses, "h.recorded_at<=?"], [*params, at]
    return [dict(r) for r in _last_searches(conn, clauses, params)]


def _positions_before(conn: Connection, clauses: list[str], params: list[Any],
                      since: str) -> dict[tuple[Any, ...], Row]:
    """The last search before ``since`` of each keyword x search x domain (narrowed by
    ``clauses``): where each stood when the period began."""
    rows = _last_searches(conn, [*clauses, "h.recorded_at<?"], [*params, since])
    return {(r["keyword"], r["engine"], r["country"], r["location"], r["language"],
             r["device"], r["domain"]): r for r in rows}


def _last_searches(conn: Connection, clauses: list[str], params: list[Any]) -> list[Row]:
    """The last of the searches ``clauses`` select, per keyword x search x domain: its
    search columns, position and time."""
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows: list[Row] = conn.execute(
        f"SELECT keyword, engine, country, location, language, device, domain, position, "
        f"recorded_at FROM (SELECT h.*, ROW_NUMBER() OVER (PARTITION BY {', '.join(SEARCH)}, "
        f"h.domain ORDER BY h.recorded_at DESC) AS n FROM position_history h {where}) "
        f"AS latest WHERE n = 1 ORDER BY keyword, engine, country, location, device, domain",
        params).fetchall()
    return rows


def claimable_tasks(conn: Connection, host_id: str, now: str, limit: int) -> list[str]:
    """Unfinished search tasks ``host_id`` may claim at ``now`` (``lease_text``): not
    claimed, claimed by it, or with a lease that has run out. Work a host left (a lease
    run out, or its own claims from before a restart) comes first, then the oldest: a dead
    host's searches are taken over before younger queued work, not behind it."""
    rows = conn.execute(
        "SELECT id FROM search_tasks WHERE state IN ('queued', 'retrying', 'running') "
        "AND (claimed_by IS NULL OR claimed_by = ? OR lease_until < ?) "
        "ORDER BY claimed_by IS NULL, queued_at, id LIMIT ?", (host_id, now, limit)).fetchall()
    return [str(r[0]) for r in rows]


def unfinished_tasks(conn: Connection) -> list[str]:
    """Every search task without an outcome yet (queued, retrying or running), oldest
    first, whoever runs it."""
    rows = conn.execute("SELECT id FROM search_tasks WHERE state IN ('queued', 'retrying', "
                        "'running') ORDER BY queued_at, id").fetchall()
    return [str(r[0]) for r in rows]


def unfinished_of(conn: Connection, origin: str) -> int:
    """How many search tasks of ``origin`` (e.g. ``schedule:nightly``) are unfinished."""
    row = conn.execute("SELECT COUNT(*) FROM search_tasks WHERE origin = ? AND state IN "
                       "('queued', 'retrying', 'running')", (origin,)).fetchone()
    return int(row[0])
