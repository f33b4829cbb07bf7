"""Read tables of the browser side: ``tabs``, ``privacy_profiles``, ``sessions``."""

from __future__ import annotations

import json
from typing import ClassVar

import pydantic

from domain.fingerprint import Fingerprint
from projections.sql import Cursor, replace_row
from projections.view import EventRecord, Handler, View


class TabsView(View):
    """One row per tab: where it is, through which proxy, how its loads went."""

    name: ClassVar[str] = "tabs"
    tables: ClassVar[tuple[str, ...]] = ("tabs",)

    def create(self, cur: Cursor) -> None:
        """Create ``tabs``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS tabs (
                id TEXT PRIMARY KEY,
                profile_id TEXT NOT NULL,
                proxy_id TEXT,
                label TEXT,
                state TEXT NOT NULL,
                url TEXT,
                title TEXT,
                http_status INTEGER,
                latency_ms REAL,
                navigations INTEGER NOT NULL DEFAULT 0,
                failures INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                crashes INTEGER NOT NULL DEFAULT 0,
                trackers_blocked INTEGER NOT NULL DEFAULT 0,
                requests_allowed INTEGER NOT NULL DEFAULT 0,
                opened_at TEXT NOT NULL,
                closed_at TEXT,
                updated_at TEXT NOT NULL
            )"""
        )
        cur.execute("CREATE INDEX IF NOT EXISTS tabs_state ON tabs (state)")

    def handlers(self) -> dict[str, Handler]:
        """Every Tab event."""
        return {
            "TabOpened": self._opened,
            "TabNavigated": self._navigated,
            "TabNavigationFailed": self._failed,
            "TabProxyAssigned": self._proxy,
            "TabUpdated": self._updated,
            "TabCrashed": self._crashed,
            "TrackerStatsRecorded": self._trackers,
            "TabClosed": self._closed,
        }

    def _opened(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        replace_row(cur, "tabs", ("id",), {
            "id": rec.aggregate, "profile_id": s["profile_id"], "proxy_id": s["proxy_id"],
            "label": s["label"], "state": "open", "opened_at": rec.timestamp,
            "updated_at": rec.timestamp})

    def _navigated(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        cur.execute(
            "UPDATE tabs SET url=?, title=?, http_status=?, latency_ms=?, proxy_id=?, "
            "navigations=navigations+1, last_error=NULL, updated_at=? WHERE id=?",
            (s["url"], s["title"], s["status"], s["latency_ms"], s["proxy_id"], rec.timestamp,
             rec.aggregate))

    def _failed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE tabs SET failures=failures+1, last_error=?, updated_at=? WHERE id=?",
                    (rec.state["error"], rec.timestamp, rec.aggregate))

    def _proxy(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE tabs SET proxy_id=?, updated_at=? WHERE id=?",
                    (rec.state["proxy_id"], rec.timestamp, rec.aggregate))

    def _updated(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE tabs SET label=?, updated_at=? WHERE id=?",
                    (rec.state["label"], rec.timestamp, rec.aggregate))

    def _crashed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE tabs SET crashes=crashes+1, updated_at=? WHERE id=?",
                    (rec.timestamp, rec.aggregate))

    def _trackers(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute(
            "UPDATE tabs SET trackers_blocked=trackers_blocked+?, "
            "requests_allowed=requests_allowed+? WHERE id=?",
            (rec.state["blocked"], rec.state["allowed"], rec.aggregate))

    def _closed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE tabs SET state='closed', closed_at=?, updated_at=? WHERE id=?",
                    (rec.timestamp, rec.timestamp, rec.aggregate))


class PrivacyProfilesView(View):
    """One row per privacy profile (the fingerprint's visible values, no noise seed, and
    what in them no single real Chrome presents: ``Fingerprint.faults``)."""

    name: ClassVar[str] = "privacy_profiles"
    tables: ClassVar[tuple[str, ...]] = ("privacy_profiles",)
    schema_version: ClassVar[int] = 2  # 2: faults

    def create(self, cur: Cursor) -> None:
        """Create ``privacy_profiles``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS privacy_profiles (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                platform TEXT NOT NULL,
                user_agent TEXT NOT NULL,
                screen TEXT NOT NULL,
                webgl_renderer TEXT NOT NULL,
                faults TEXT NOT NULL,
                locale TEXT NOT NULL,
                timezone TEXT NOT NULL,
                follow_proxy_country INTEGER NOT NULL,
                webrtc TEXT NOT NULL,
                tracker_blocking INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )"""
        )

    def handlers(self) -> dict[str, Handler]:
        """A profile's creation, changes, removal and re-creation under its name."""
        return {"PrivacyProfileCreated": self._created,
                "PrivacySettingsChanged": self._changed,
                "FingerprintRegenerated": self._regenerated,
                "PrivacyProfileRemoved": self._removed,
                "PrivacyProfileRecreated": self._recreated}

    @staticmethod
    def _fp_columns(fp: dict[str, object]) -> tuple[object, ...]:
        """platform, user_agent, screen, webgl_renderer and faults ("; "-separated, "" when
        none: profiles drawn before devices were checked may have some)."""
        screen = fp["screen"]
        assert isinstance(screen, dict)
        try:
            faults = "; ".join(Fingerprint.model_validate(fp).coherent().faults())
        except pydantic.ValidationError as exc:  # a view never stops on a stored event
            faults = f"stored values unreadable: {exc.errors()[0]['loc']}"
        return (fp["platform"], fp["user_agent"], f"{screen['width']}x{screen['height']}",
                fp["webgl_renderer"], faults)

    def _created(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        self._replace(cur, (rec.aggregate, s["name"], *self._fp_columns(s["fingerprint"]),
                            s["locale"], s["timezone"], int(s["follow_proxy_country"]),
                            s["webrtc"], int(s["tracker_blocking"]), rec.timestamp,
                            rec.timestamp))

    @staticmethod
    def _replace(cur: Cursor, values: tuple[object, ...]) -> None:
        """The profile's whole row, replacing any with its id or its name (a profile's id
        follows from its name; the delete keeps ``INSERT OR REPLACE``'s meaning)."""
        cur.execute("DELETE FROM privacy_profiles WHERE id=? OR name=?", values[:2])
        cur.execute("INSERT INTO privacy_profiles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", values)

    def _removed(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("DELETE FROM privacy_profiles WHERE id=?", (rec.aggregate,))

    def _recreated(self, cur: Cursor, rec: EventRecord) -> None:
        s = rec.state
        self._replace(cur, (rec.aggregate, s["name"], *self._fp_columns(s["fingerprint"]),
                            s["locale"], s["timezone"], int(s["follow_proxy_country"]),
                            "proxied", 0, rec.timestamp, rec.timestamp))

    def _changed(self, cur: Cursor, rec: EventRecord) -> None:
        allowed = ("locale", "timezone", "follow_proxy_country", "webrtc", "tracker_blocking")
        changes = {k: v for k, v in rec.state["changes"].items() if k in allowed}
        if not changes:
            return
        sets = ", ".join(f"{k}=?" for k in changes)
        values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
        cur.execute(f"UPDATE privacy_profiles SET {sets}, updated_at=? WHERE id=?",
                    (*values, rec.timestamp, rec.aggregate))

    def _regenerated(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute(
            "UPDATE privacy_profiles SET platform=?, user_agent=?, screen=?, webgl_renderer=?, "
            "faults=?, updated_at=? WHERE id=?",
            (*self._fp_columns(rec.state["fingerprint"]), rec.timestamp, rec.aggregate))


class SessionsView(View):
    """One row per saved browsing session."""

    name: ClassVar[str] = "sessions"
    tables: ClassVar[tuple[str, ...]] = ("sessions",)

    def create(self, cur: Cursor) -> None:
        """Create ``sessions``."""
        cur.execute(
            """CREATE TABLE IF NOT EXISTS sessions (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                tabs TEXT NOT NULL,
                tab_count INTEGER NOT NULL,
                saved_at TEXT,
                loaded_at TEXT,
                loads INTEGER NOT NULL DEFAULT 0
            )"""
        )

    def handlers(self) -> dict[str, Handler]:
        """SessionCreated, SessionSaved, SessionLoaded."""
        return {"SessionCreated": self._created, "SessionSaved": self._saved,
                "SessionLoaded": self._loaded}

    def _created(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("DELETE FROM sessions WHERE id=? OR name=?",
                    (rec.aggregate, rec.state["name"]))  # as INSERT OR REPLACE would
        cur.execute("INSERT INTO sessions (id, name, tabs, tab_count) VALUES (?,?,'[]',0)",
                    (rec.aggregate, rec.state["name"]))

    def _saved(self, cur: Cursor, rec: EventRecord) -> None:
        tabs = rec.state["tabs"]
        cur.execute("UPDATE sessions SET tabs=?, tab_count=?, saved_at=? WHERE id=?",
                    (json.dumps(tabs, sort_keys=True), len(tabs), rec.timestamp, rec.aggregate))

    def _loaded(self, cur: Cursor, rec: EventRecord) -> None:
        cur.execute("UPDATE sessions SET loaded_at=?, loads=loads+1 WHERE id=?",
                    (rec.timestamp, rec.aggregate))
