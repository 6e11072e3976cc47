"""Raw results in the store: idempotent inserts, each school's latest trusted values, reads by time.

Idempotent on measurement id: storing a record twice acknowledges it as a duplicate, and only what a
transaction actually inserted moves a school's `latest` row (what /metrics exports) and marks its
day for the roll-up. Within one call the first copy of an id wins, in the store and in the answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from collectors.store.partitions import Partitions
from collectors.store.schema import MEASUREMENT_FIELDS
from core.measurement import Kind, Measurement
from core.timezone import almaty

# The one figure per kind that the daily roll-up summarises (base units).
PRIMARY_VALUES: dict[Kind, str] = {
    Kind.DOWNLOAD: "throughput_bps", Kind.UPLOAD: "throughput_bps", Kind.LATENCY: "rtt_median_seconds",
    Kind.DNS: "resolution_seconds", Kind.HTTP: "total_seconds", Kind.SNMP: "in_bps",
}
MAX_TRUSTED_OFFSET_SECONDS = 3600.0   # a clock further off is never trusted, whatever the collector's bound

# Positions in a measurements row (the column order of schema.MEASUREMENT_FIELDS).
_ID, _SCHOOL, _KIND, _END, _QUARANTINED, _BODY, _DAY = 0, 1, 3, 5, 7, 8, 10


def local_day(measurement: Measurement, received_at: float | None = None) -> str:
    """The Asia/Almaty date (YYYY-MM-DD) a result is filed under: the day it ended, corrected by the probe's offset.

    A result whose probe did not know its clock (no offset: always quarantined) is filed under the day it was
    received, when that is given: its own time may be decades off, and it must neither fall out of the raw
    retention at once nor open a partition for a year that never was.
    """
    if measurement.clock_offset_seconds is None and received_at is not None:
        return datetime.fromtimestamp(received_at, almaty()).date().isoformat()
    end = measurement.end.timestamp() - (measurement.clock_offset_seconds or 0.0)
    return datetime.fromtimestamp(end, almaty()).date().isoformat()


def primary_value(measurement: Measurement) -> float | None:
    """The record's figure for the roll-up, or None (a failed measurement)."""
    return measurement.values.get(PRIMARY_VALUES[measurement.kind])


class Measurements(Partitions):
    """The `measurements`, `latest` and `dirty_days` tables."""

    def insert(self, measurements: Iterable[Measurement], quarantined: Iterable[bool]) -> list[bool]:
        """Store records in one transaction; per record True if new, False if its id was already stored
        (or came earlier in the same call: the first copy is the one stored). Exact under concurrent
        writers, in other processes too.

        Records actually inserted mark their (school, local day) for the roll-up, so a late result
        updates its own day; the trusted ones among them may become their school's latest.
        """
        now = time.time()
        rows = []
        for m, held in zip(measurements, quarantined):
            rows.append((str(m.measurement_id), m.school_id, m.probe_id, m.kind.value, m.start.timestamp(),
                         m.end.timestamp(), m.clock_offset_seconds, int(held), m.model_dump_json(), now,
                         local_day(m, now), primary_value(m), int(m.error is not None)))
        first: dict[str, tuple] = {}
        for row in rows:
            first.setdefault(row[_ID], row)
        unique = sorted(first.values())
        with self._lock:
            self._ensure_partitions({row[_DAY][:7] for row in unique})
            with self._db.transaction():
                stored = self._insert_new(unique)
                inserted = [row for row in unique if row[_ID] in stored]
                self._db.executemany(
                    "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT (school_id, kind) DO UPDATE SET "
                    "end_ts = excluded.end_ts, body = excluded.body WHERE excluded.end_ts > latest.end_ts",
                    _newest_trusted(inserted))
                self._db.executemany("INSERT INTO dirty_days VALUES (?, ?) ON CONFLICT DO NOTHING",
                                     sorted({(row[_SCHOOL], row[_DAY]) for row in inserted}))
        answers = []
        for row in rows:
            answers.append(row[_ID] in stored)
            stored.discard(row[_ID])                # a second copy in the same call is a duplicate
        return answers

    def _insert_new(self, rows: list[tuple]) -> set[str]:
        """Insert the rows whose id is not stored yet, inside the open transaction; returns their ids."""
        if not rows:
            return set()
        if self._db.postgresql:
            # The whole batch in one statement. Its ids are claimed first in `measurement_ids` (unique whatever
            # the day, which the partitioned table's own key cannot be); a claim waits for a concurrent
            # transaction holding the same id, so only this transaction's claims are inserted and returned.
            # %b: arrays go in binary format, which needs no escaping of the records' JSON (several times cheaper).
            arrays = ", ".join(f"%b::{kind}[]" for _, _, kind in MEASUREMENT_FIELDS)
            names = ", ".join(name for name, _, _ in MEASUREMENT_FIELDS)
            cursor = self._db.execute(
                f"WITH batch AS (SELECT * FROM unnest({arrays}) AS b({names})), claimed AS ("
                "INSERT INTO measurement_ids SELECT measurement_id FROM batch ON CONFLICT DO NOTHING "
                "RETURNING measurement_id) INSERT INTO measurements SELECT batch.* FROM batch JOIN claimed "
                "USING (measurement_id) RETURNING measurement_id", [list(c) for c in zip(*rows)])
            return {row[0] for row in cursor.fetchall()}
        # SQLite: BEGIN IMMEDIATE holds the write lock, so what this transaction reads cannot change under it.
        known: set[str] = set()
        for start in range(0, len(rows), 500):
            chunk = [row[_ID] for row in rows[start:start + 500]]
            cursor = self._db.execute(f"SELECT measurement_id FROM measurement_ids WHERE measurement_id IN "
                                      f"({', '.join('?' * len(chunk))})", chunk)
            known.update(row[0] for row in cursor.fetchall())
        fresh = [row for row in rows if row[_ID] not in known]
        self._db.executemany("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fresh)
        return {row[_ID] for row in fresh}

    def latest_values(self) -> dict[tuple[str, str], tuple[float, dict[str, float]]]:
        """(end time, values) of the newest trusted record of each kind per school — what a scrape needs,
        without building full records (a scrape of 7,500 schools reads ~40,000 of them)."""
        rows = self._read("SELECT school_id, kind, end_ts, body FROM latest")
        return {(school, kind): (end_ts, json.loads(body)["values"]) for school, kind, end_ts, body in rows}

    def latest(self) -> dict[tuple[str, str], Measurement]:
        """The newest trusted (not quarantined) record of each kind of each school, by (school_id, kind)."""
        rows = self._read("SELECT school_id, kind, body FROM latest")
        return {(school, kind): Measurement.model_validate_json(body) for school, kind, body in rows}

    def trusted_between(self, start_ts: float, end_ts: float, school_id: str | None = None,
                        kinds: Sequence[str] = ()) -> list[Measurement]:
        """Trusted records that ended in [start_ts, end_ts) (unix seconds), of one school and some kinds if given."""
        query, params = "SELECT body FROM measurements WHERE end_ts >= ? AND end_ts < ? AND quarantined = 0", [
            start_ts, end_ts]
        if school_id is not None:
            # Through the (school_id, day) index: a trusted result's day is its end's local date give or
            # take its clock offset, which is under MAX_TRUSTED_OFFSET_SECONDS (the rest are quarantined).
            first, last = (datetime.fromtimestamp(ts, almaty()).date() for ts in (start_ts, end_ts))
            query, params = query + " AND school_id = ? AND day >= ? AND day <= ?", [
                *params, school_id, (first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()]
        if kinds:
            query, params = query + f" AND kind IN ({', '.join('?' * len(kinds))})", [*params, *kinds]
        rows = self._read(query, params)
        return [Measurement.model_validate_json(body) for (body,) in rows]

    def measurement_ids(self, school_id: str | None = None) -> list[str]:
        """Every stored measurement id (of one school)."""
        if school_id is None:
            rows = self._read("SELECT measurement_id FROM measurements")
        else:
            rows = self._read("SELECT measurement_id FROM measurements WHERE school_id = ?", (school_id,))
        return [row[0] for row in rows]

    def count(self, quarantined: bool | None = None) -> int:
        """How many measurements are stored (only quarantined ones, or only trusted ones)."""
        query = "SELECT count(*) FROM measurements"
        if quarantined is None:
            return self._read(query)[0][0]
        return self._read(query + " WHERE quarantined = ?", (int(quarantined),))[0][0]


def _newest_trusted(rows: list[tuple]) -> list[tuple]:
    """(school_id, kind, end_ts, body) of the newest trusted row per school and kind, in one lock order for
    every writer (no deadlocks on PostgreSQL)."""
    newest: dict[tuple[str, str], tuple] = {}
    for row in rows:
        key = (row[_SCHOOL], row[_KIND])
        if not row[_QUARANTINED] and (key not in newest or newest[key][2] < row[_END]):
            newest[key] = (*key, row[_END], row[_BODY])
    return sorted(newest.values())
