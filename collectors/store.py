"""The measurement store: the system of record behind one small interface, on SQLite or PostgreSQL.

SQLite (a file path) is the embedded default; PostgreSQL (`postgresql://...`) is the national
deployment. Both run the same schema and migrations, written in the SQL they share (`ON CONFLICT`,
`DOUBLE PRECISION`); only placeholders and transaction openers differ. Idempotent on measurement id:
storing a record twice acknowledges it as a duplicate. Probes, their hashed tokens and one-time
enrolment codes live in the same database.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.measurement import Measurement

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE measurements (
        measurement_id TEXT PRIMARY KEY,
        school_id TEXT NOT NULL,
        probe_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ts DOUBLE PRECISION NOT NULL,
        end_ts DOUBLE PRECISION NOT NULL,
        clock_offset_seconds DOUBLE PRECISION,
        quarantined INTEGER NOT NULL,
        body TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX measurements_school_kind_end ON measurements (school_id, kind, end_ts);
    CREATE INDEX measurements_end ON measurements (end_ts);
    CREATE TABLE latest (
        school_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        end_ts DOUBLE PRECISION NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (school_id, kind)
    );
    CREATE TABLE probes (
        probe_id TEXT PRIMARY KEY,
        school_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        previous_token_hash TEXT,
        token_expires_at DOUBLE PRECISION NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        revoked_at DOUBLE PRECISION,
        last_seen_at DOUBLE PRECISION
    );
    CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        school_id TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        used_at DOUBLE PRECISION
    );
    """,
)


@dataclass(frozen=True)
class ProbeRecord:
    """A probe as the store knows it."""

    probe_id: str
    school_id: str
    token_expires_at: float
    revoked_at: float | None
    last_seen_at: float | None


def is_postgresql(url: str | Path) -> bool:
    """True for a PostgreSQL URL, False for a SQLite file path."""
    return str(url).startswith(("postgresql://", "postgres://"))


class _Connection:
    """One database connection in autocommit mode, with `?` placeholders on both engines."""

    def __init__(self, url: str | Path):
        self.postgresql = is_postgresql(url)
        if self.postgresql:
            import psycopg

            self._db = psycopg.connect(str(url), autocommit=True)
        else:
            self._db = sqlite3.connect(str(url), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")

    def execute(self, sql: str, params: Sequence = ()):
        """Run one statement; returns the cursor (rowcount, fetchone, fetchall)."""
        if self.postgresql:
            return self._db.execute(sql.replace("?", "%s"), params)
        return self._db.execute(sql, params)

    def script(self, sql: str) -> None:
        """Run several statements in one transaction."""
        if self.postgresql:
            self._db.execute(f"BEGIN; {sql}; COMMIT;")
        else:
            self._db.executescript(f"BEGIN; {sql}; COMMIT;")

    def begin(self) -> None:
        """Open a write transaction (SQLite takes its write lock at once)."""
        self._db.execute("BEGIN" if self.postgresql else "BEGIN IMMEDIATE")

    def close(self) -> None:
        self._db.close()


class Store:
    """A store at `url` (a SQLite file path or a postgresql:// URL); safe to share between threads."""

    def __init__(self, url: str | Path):
        self.url = str(url)
        self._db = _Connection(url)
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
                self._db.script(f"{script}; INSERT INTO schema_version VALUES ({version})")

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def insert(self, measurements: Iterable[Measurement], quarantined: Iterable[bool]) -> list[bool]:
        """Store records in one transaction; per record True if new, False if its id was already stored."""
        now = time.time()
        outcome: list[bool] = []
        with self._lock:
            self._db.begin()
            try:
                for m, held in zip(measurements, quarantined):
                    cursor = self._db.execute(
                        "INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (measurement_id) DO NOTHING",
                        (str(m.measurement_id), m.school_id, m.probe_id, m.kind.value, m.start.timestamp(),
                         m.end.timestamp(), m.clock_offset_seconds, int(held), m.model_dump_json(), now))
                    outcome.append(cursor.rowcount == 1)
                    if cursor.rowcount == 1 and not held:
                        self._db.execute(
                            "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT (school_id, kind) DO UPDATE SET "
                            "end_ts = excluded.end_ts, body = excluded.body WHERE excluded.end_ts > latest.end_ts",
                            (m.school_id, m.kind.value, m.end.timestamp(), m.model_dump_json()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return outcome

    def latest(self) -> dict[tuple[str, str], Measurement]:
        """The newest trusted (not quarantined) record of each kind of each school, by (school_id, kind)."""
        with self._lock:
            rows = self._db.execute("SELECT school_id, kind, body FROM latest").fetchall()
        return {(school, kind): Measurement.model_validate_json(body) for school, kind, body in rows}

    def trusted_between(self, start_ts: float, end_ts: float) -> list[Measurement]:
        """Trusted records that ended in [start_ts, end_ts) (unix seconds), for verdicts."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM measurements WHERE end_ts >= ? AND end_ts < ? AND quarantined = 0",
                                    (start_ts, end_ts)).fetchall()
        return [Measurement.model_validate_json(body) for (body,) in rows]

    def measurement_ids(self, school_id: str | None = None) -> list[str]:
        """Every stored measurement id (of one school)."""
        with self._lock:
            if school_id is None:
                rows = self._db.execute("SELECT measurement_id FROM measurements").fetchall()
            else:
                rows = self._db.execute("SELECT measurement_id FROM measurements WHERE school_id = ?",
                                        (school_id,)).fetchall()
        return [row[0] for row in rows]

    def count(self, quarantined: bool | None = None) -> int:
        """How many measurements are stored (only quarantined ones, or only trusted ones)."""
        query = "SELECT count(*) FROM measurements"
        with self._lock:
            if quarantined is None:
                return self._db.execute(query).fetchone()[0]
            return self._db.execute(query + " WHERE quarantined = ?", (int(quarantined),)).fetchone()[0]

    def add_enrolment_code(self, code_hash: str, school_id: str, expires_at: float) -> None:
        """Remember a one-time enrolment code (hashed)."""
        with self._lock:
            self._db.execute("INSERT INTO enrolment_codes VALUES (?, ?, ?, NULL)", (code_hash, school_id, expires_at))

    def use_enrolment_code(self, code_hash: str, school_id: str, now: float) -> bool:
        """Spend a code for `school_id`: True once, if it exists, is unused and has not expired."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND school_id = ? AND used_at IS NULL "
                "AND expires_at > ?", (now, code_hash, school_id, now))
            return cursor.rowcount == 1

    def add_probe(self, probe_id: str, school_id: str, token_hash: str, expires_at: float) -> None:
        """Register a probe with its (hashed) token."""
        with self._lock:
            self._db.execute("INSERT INTO probes (probe_id, school_id, token_hash, token_expires_at, created_at) "
                             "VALUES (?, ?, ?, ?, ?)", (probe_id, school_id, token_hash, expires_at, time.time()))

    def replace_token(self, probe_id: str, token_hash: str, expires_at: float) -> None:
        """Rotate a probe's token. The old one keeps working until the new one is first used, so a probe
        that lost the answer (a power cut before it saved the new token) is not locked out."""
        with self._lock:
            self._db.execute("UPDATE probes SET previous_token_hash = token_hash, token_hash = ?, token_expires_at = ? "
                             "WHERE probe_id = ?", (token_hash, expires_at, probe_id))

    def revoke(self, probe_id: str, now: float) -> bool:
        """Revoke a probe's token; False if no such probe."""
        with self._lock:
            return self._db.execute("UPDATE probes SET revoked_at = ? WHERE probe_id = ?", (now, probe_id)).rowcount == 1

    def probe_by_token(self, token_hash: str, now: float) -> ProbeRecord | None:
        """The probe holding this token, if the token is valid (known, not expired, not revoked)."""
        with self._lock:
            row = self._db.execute(
                "SELECT probe_id, school_id, token_expires_at, revoked_at, last_seen_at, token_hash = ? FROM probes "
                "WHERE (token_hash = ? OR previous_token_hash = ?) AND revoked_at IS NULL AND token_expires_at > ?",
                (token_hash, token_hash, token_hash, now)).fetchone()
            if row is not None:
                current = row[5]
                self._db.execute("UPDATE probes SET last_seen_at = ?" + (", previous_token_hash = NULL" if current else "")
                                 + " WHERE probe_id = ?", (now, row[0]))
                row = row[:5]
        return ProbeRecord(*row) if row else None

    def probes(self) -> list[ProbeRecord]:
        """Every enrolled probe."""
        with self._lock:
            rows = self._db.execute("SELECT probe_id, school_id, token_expires_at, revoked_at, last_seen_at "
                                    "FROM probes ORDER BY probe_id").fetchall()
        return [ProbeRecord(*row) for row in rows]
