"""The probe's local outbox: every result is committed to SQLite (WAL, synchronous=FULL) before anything else.

Records leave `pending` only when the collector has acknowledged them: accepted and duplicate ones
are deleted, rejected ones move to `set_aside` with the reason, where they stay for an operator to
look at — never retried forever, never dropped silently. The same file keeps small agent state
(data used per day, last results) so that it survives restarts.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from core.batch import BatchAck, RecordStatus
from core.measurement import Measurement

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    measurement_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS set_aside (
    measurement_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_aside_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Outbox:
    """A SQLite outbox at `path`; one connection, used from one thread (the agent's event loop)."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        if read_only:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")      # a committed result survives power loss
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def add(self, measurements: Iterable[Measurement]) -> int:
        """Commit results durably; returns how many were new (a known id is ignored)."""
        rows = [(str(m.measurement_id), m.model_dump_json(), time.time()) for m in measurements]
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO pending (measurement_id, body, created) VALUES (?, ?, ?)", rows)
            return self._db.total_changes - before

    def oldest(self, limit: int) -> list[tuple[UUID, dict]]:
        """Up to `limit` pending records, oldest first, as (id, JSON object)."""
        rows = self._db.execute("SELECT measurement_id, body FROM pending ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(UUID(measurement_id), json.loads(body)) for measurement_id, body in rows]

    def settle(self, ack: BatchAck) -> dict[RecordStatus, int]:
        """Apply an acknowledgement: delete accepted and duplicate records, set rejected ones aside."""
        counts = {status: 0 for status in RecordStatus}
        with self._transaction():
            for result in ack.results:
                if result.measurement_id is None:
                    continue
                if result.status is RecordStatus.REJECTED:
                    self._move_aside(str(result.measurement_id), result.reason or "rejected without a reason")
                else:
                    self._db.execute("DELETE FROM pending WHERE measurement_id = ?", (str(result.measurement_id),))
                counts[result.status] += 1
        return counts

    def set_aside(self, ids: Iterable[UUID], reason: str) -> None:
        """Move records the collector refused as a whole batch (a 4xx) out of `pending`, with the reason."""
        with self._transaction():
            for measurement_id in ids:
                self._move_aside(str(measurement_id), reason)

    def _move_aside(self, measurement_id: str, reason: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO set_aside SELECT measurement_id, body, ?, ? FROM pending "
                         "WHERE measurement_id = ?", (reason[:1024], time.time(), measurement_id))
        self._db.execute("DELETE FROM pending WHERE measurement_id = ?", (measurement_id,))

    def depth(self) -> tuple[int, int]:
        """(pending, set aside) record counts."""
        pending = self._db.execute("SELECT count(*) FROM pending").fetchone()[0]
        aside = self._db.execute("SELECT count(*) FROM set_aside").fetchone()[0]
        return pending, aside

    def oldest_pending_age_seconds(self, now: float | None = None) -> float | None:
        """How long the oldest pending record has waited, or None when nothing waits."""
        created = self._db.execute("SELECT min(created) FROM pending").fetchone()[0]
        return None if created is None else (now or time.time()) - created

    def set_aside_reasons(self, limit: int = 20) -> list[tuple[str, str]]:
        """The latest (measurement id, reason) pairs set aside."""
        return self._db.execute("SELECT measurement_id, reason FROM set_aside ORDER BY set_aside_at DESC LIMIT ?",
                                (limit,)).fetchall()

    def get(self, key: str, default: object = None) -> object:
        """A stored state value (JSON), or `default`."""
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value: object) -> None:
        """Store a state value (JSON)."""
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on error (sqlite3's own context manager does not BEGIN)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()             # a failed COMMIT (disk full) must not leave the connection in a transaction
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self.db.in_transaction:           # SQLite may have rolled back by itself already
            self.db.execute("ROLLBACK")
