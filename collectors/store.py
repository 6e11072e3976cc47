"""The measurement store: the system of record behind one small interface, on SQLite or PostgreSQL.

SQLite (a file path) is the embedded default; PostgreSQL (`postgresql://...`) is the national
deployment. Both run the same schema and migrations, written in the SQL they share (`ON CONFLICT`,
`DOUBLE PRECISION`); only placeholders and transaction openers differ. Idempotent on measurement id:
storing a record twice acknowledges it as a duplicate. Probes, their hashed tokens and one-time
enrolment codes live in the same database.
"""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from core.measurement import Kind, Measurement
from core.registry import Registry
from core.timezone import almaty

# The one figure per kind that the daily roll-up summarises (base units).
PRIMARY_VALUES: dict[Kind, str] = {
    Kind.DOWNLOAD: "throughput_bps", Kind.UPLOAD: "throughput_bps", Kind.LATENCY: "rtt_median_seconds",
    Kind.DNS: "resolution_seconds", Kind.HTTP: "total_seconds", Kind.SNMP: "in_bps",
}


def local_day(measurement: Measurement) -> str:
    """The Asia/Almaty date (YYYY-MM-DD) a result belongs to: the day it ended, corrected by the probe's offset."""
    end = measurement.end.timestamp() - (measurement.clock_offset_seconds or 0.0)
    return datetime.fromtimestamp(end, almaty()).date().isoformat()


def primary_value(measurement: Measurement) -> float | None:
    """The record's figure for the roll-up, or None (a failed measurement)."""
    return measurement.values.get(PRIMARY_VALUES[measurement.kind])

MEASUREMENT_COLUMNS = """
        measurement_id TEXT NOT NULL,
        school_id TEXT NOT NULL,
        probe_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ts DOUBLE PRECISION NOT NULL,
        end_ts DOUBLE PRECISION NOT NULL,
        clock_offset_seconds DOUBLE PRECISION,
        quarantined INTEGER NOT NULL,
        body TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        day TEXT NOT NULL,
        value DOUBLE PRECISION,
        failed INTEGER NOT NULL"""
# Array types of those columns, in order, for PostgreSQL's unnest() of a whole batch.
MEASUREMENT_ARRAYS = ("text", "text", "text", "text", "float8", "float8", "float8", "int", "text", "float8", "text",
                      "float8", "int")


@dataclass(frozen=True)
class Migration:
    """One schema step: what both engines run, and where they must differ, each engine's own part (run first).

    `{time}` and `{day}` in the shared part become the engine's expressions for a unix time and a local
    day, so that views give Grafana real timestamps and dates on PostgreSQL.
    """

    both: str
    postgresql: str = ""
    sqlite: str = ""

    def script(self, postgresql: bool) -> str:
        """The SQL this engine runs."""
        own = self.postgresql if postgresql else self.sqlite
        dialect = ({"time": "to_timestamp(m.end_ts)", "day": "v.day::date"} if postgresql
                   else {"time": "m.end_ts", "day": "v.day"})
        return f"{own}; {self.both.format(**dialect)}" if own else self.both.format(**dialect)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(f"""
    CREATE TABLE measurements ({MEASUREMENT_COLUMNS},
        PRIMARY KEY (measurement_id)
    );
    CREATE INDEX measurements_school_kind_end ON measurements (school_id, kind, end_ts);
    CREATE INDEX measurements_school_day ON measurements (school_id, day);
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
    CREATE TABLE daily (
        school_id TEXT NOT NULL,
        day TEXT NOT NULL,
        kind TEXT NOT NULL,
        samples INTEGER NOT NULL,
        quarantined INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        p10 DOUBLE PRECISION,
        median DOUBLE PRECISION,
        p90 DOUBLE PRECISION,
        mean DOUBLE PRECISION,
        PRIMARY KEY (school_id, day, kind)
    );
    CREATE TABLE daily_verdicts (
        school_id TEXT NOT NULL,
        day TEXT NOT NULL,
        policy TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (school_id, day, policy)
    );
    CREATE TABLE dirty_days (
        school_id TEXT NOT NULL,
        day TEXT NOT NULL,
        PRIMARY KEY (school_id, day)
    );
    CREATE TABLE enrolment_codes (
        code_hash TEXT PRIMARY KEY,
        school_id TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        used_at DOUBLE PRECISION
    )
    """),
    # 2: raw results in monthly partitions on PostgreSQL (a month past retention is dropped whole); the
    # registry's descriptive columns in the database; views for Grafana; two indexes fewer to feed per insert
    # (a school's time range is read through its days).
    Migration(postgresql=f"""
    DROP INDEX measurements_school_kind_end;
    DROP INDEX measurements_school_day;
    DROP INDEX measurements_end;
    ALTER TABLE measurements RENAME TO measurements_v1;
    ALTER TABLE measurements_v1 RENAME CONSTRAINT measurements_pkey TO measurements_v1_pkey;
    CREATE TABLE measurements ({MEASUREMENT_COLUMNS},
        PRIMARY KEY (measurement_id, day)
    ) PARTITION BY RANGE (day);
    CREATE TABLE measurements_default PARTITION OF measurements DEFAULT;
    CREATE INDEX measurements_school_day ON measurements (school_id, day);
    INSERT INTO measurements SELECT * FROM measurements_v1;
    DROP TABLE measurements_v1
    """, sqlite="DROP INDEX measurements_end; DROP INDEX measurements_school_kind_end", both="""
    CREATE TABLE schools (
        school_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        region TEXT NOT NULL,
        district TEXT NOT NULL,
        locality TEXT NOT NULL,
        category TEXT NOT NULL,
        isp TEXT NOT NULL,
        contracted_bps DOUBLE PRECISION NOT NULL,
        students INTEGER NOT NULL
    );
    CREATE VIEW measurement_series AS
        SELECT {time} AS time, m.school_id, s.region, s.district, s.locality, s.category, m.kind,
               m.value, m.failed, m.quarantined, m.probe_id, m.measurement_id, m.body AS record
        FROM measurements m LEFT JOIN schools s ON s.school_id = m.school_id;
    CREATE VIEW daily_compliance AS
        SELECT {day} AS day, v.school_id, s.region, s.district, s.locality, s.category, v.policy, v.status,
               d.median AS download_median_bps, u.median AS upload_median_bps, l.median AS rtt_median_seconds,
               d.samples AS download_samples
        FROM daily_verdicts v
        LEFT JOIN schools s ON s.school_id = v.school_id
        LEFT JOIN daily d ON d.school_id = v.school_id AND d.day = v.day AND d.kind = 'download'
        LEFT JOIN daily u ON u.school_id = v.school_id AND u.day = v.day AND u.kind = 'upload'
        LEFT JOIN daily l ON l.school_id = v.school_id AND l.day = v.day AND l.kind = 'latency';
    CREATE VIEW daily_compliance_by_region AS
        SELECT day, policy, region, count(*) AS schools,
               sum(CASE WHEN status = 'meets' THEN 1 ELSE 0 END) AS meeting,
               sum(CASE WHEN status = 'below' THEN 1 ELSE 0 END) AS below,
               sum(CASE WHEN status = 'no data' THEN 1 ELSE 0 END) AS no_data
        FROM daily_compliance GROUP BY day, policy, region
    """),
)


# Every table of the store (partitions go with their parent; views with CASCADE).
STORE_TABLES = ("schema_version", "measurements", "latest", "probes", "daily", "daily_verdicts", "dirty_days",
                "enrolment_codes", "schools")


@dataclass(frozen=True)
class ProbeRecord:
    """A probe as the store knows it."""

    probe_id: str
    school_id: str
    token_expires_at: float
    revoked_at: float | None
    last_seen_at: float | None


LAST_SEEN_RESOLUTION_SECONDS = 60.0
MAX_TRUSTED_OFFSET_SECONDS = 3600.0   # a clock further off is never trusted, whatever the collector's bound
PARTITION_LOCK_KEY = 0x6D656B74       # pg_advisory_xact_lock key serialising partition creation


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
            # 64 MiB of page cache (the default is 2 MiB): a national store's indexes are hundreds of MiB,
            # and every insert touches three of them at random places.
            self._db.execute("PRAGMA cache_size=-65536")

    def execute(self, sql: str, params: Sequence = ()):
        """Run one statement; returns the cursor (rowcount, fetchone, fetchall)."""
        if self.postgresql:
            return self._db.execute(sql.replace("?", "%s"), params)
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        """Run one statement for many rows (nothing for none)."""
        if not rows:
            return
        if self.postgresql:
            with self._db.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
        else:
            self._db.executemany(sql, rows)

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
        self._db = _Connection(url)                  # writes, one at a time
        self._lock = threading.Lock()
        self._partitions: set[str] = set()
        self._migrate()
        if self._db.postgresql:
            self._load_partitions()
        self._reader = _Connection(url)              # reads never wait behind a write's fsync (WAL / MVCC)
        self._read_lock = threading.Lock()

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                self._db.script(f"{migration.script(self._db.postgresql)}; INSERT INTO schema_version VALUES ({version})")

    def close(self) -> None:
        """Close the database."""
        self._db.close()
        self._reader.close()

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Rows of a query on the read connection."""
        with self._read_lock:
            return self._reader.execute(sql, params).fetchall()

    def insert(self, measurements: Iterable[Measurement], quarantined: Iterable[bool]) -> list[bool]:
        """Store records in one transaction; per record True if new, False if its id was already stored
        (or came earlier in the same call). Exact under concurrent writers, in other processes too.

        New records mark their (school, local day) for the roll-up, so a late result updates its own day.
        """
        records, held = list(measurements), list(quarantined)
        now = time.time()
        rows, newest = [], {}
        for m, h in zip(records, held):
            body = m.model_dump_json()
            rows.append((str(m.measurement_id), m.school_id, m.probe_id, m.kind.value, m.start.timestamp(),
                         m.end.timestamp(), m.clock_offset_seconds, int(h), body, now, local_day(m),
                         primary_value(m), int(m.error is not None)))
            key = (m.school_id, m.kind.value)
            if not h and (key not in newest or newest[key][2] < rows[-1][5]):
                newest[key] = (*key, rows[-1][5], body)
        latest = sorted(newest.values())            # one lock order for every writer: no deadlocks on PostgreSQL
        dirty = sorted({(row[1], row[10]) for row in rows})
        unique = sorted({row[0]: row for row in rows}.values())
        with self._lock:
            if self._db.postgresql:
                self._ensure_partitions({row[10][:7] for row in unique})
            self._db.begin()
            try:
                stored = self._insert_new(unique)
                self._db.executemany(
                    "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT (school_id, kind) DO UPDATE SET "
                    "end_ts = excluded.end_ts, body = excluded.body WHERE excluded.end_ts > latest.end_ts", latest)
                self._db.executemany("INSERT INTO dirty_days VALUES (?, ?) ON CONFLICT DO NOTHING", dirty)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        answers = []
        for row in rows:
            answers.append(row[0] in stored)
            stored.discard(row[0])                  # a second copy in the same call is a duplicate
        return answers

    def _insert_new(self, rows: list[tuple]) -> set[str]:
        """Insert the rows whose id is not stored yet, inside the open transaction; returns their ids."""
        if not rows:
            return set()
        if self._db.postgresql:
            # The whole batch in one statement; RETURNING names exactly the rows this transaction added.
            # %b: arrays go in binary format, which needs no escaping of the records' JSON (several times cheaper).
            arrays = ", ".join(f"%b::{kind}[]" for kind in MEASUREMENT_ARRAYS)
            cursor = self._db.execute(f"INSERT INTO measurements SELECT * FROM unnest({arrays}) "
                                      "ON CONFLICT DO NOTHING RETURNING measurement_id", [list(c) for c in zip(*rows)])
            return {row[0] for row in cursor.fetchall()}
        # SQLite: BEGIN IMMEDIATE holds the write lock, so what this transaction reads cannot change under it.
        known: set[str] = set()
        for start in range(0, len(rows), 500):
            chunk = [row[0] for row in rows[start:start + 500]]
            cursor = self._db.execute(f"SELECT measurement_id FROM measurements WHERE measurement_id IN "
                                      f"({', '.join('?' * len(chunk))})", chunk)
            known.update(row[0] for row in cursor.fetchall())
        fresh = [row for row in rows if row[0] not in known]
        self._db.executemany("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fresh)
        return {row[0] for row in fresh}

    def _load_partitions(self) -> None:
        """PostgreSQL: learn the monthly partitions, and give rows waiting in the default one their month."""
        rows = self._db.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                "WHERE i.inhparent = 'measurements'::regclass").fetchall()
        self._partitions = {name[len("measurements_"):].replace("_", "-") for (name,) in rows
                            if name != "measurements_default"}
        waiting = self._db.execute("SELECT DISTINCT substr(day, 1, 7) FROM measurements_default").fetchall()
        self._ensure_partitions({month for (month,) in waiting})

    def _ensure_partitions(self, months: set[str]) -> None:
        """PostgreSQL: create the monthly partitions (YYYY-MM) that do not exist yet, moving any rows of
        that month out of the default partition first. Safe when several processes race to create one."""
        for month in sorted(months - self._partitions):
            name = f"measurements_{month.replace('-', '_')}"
            year, number = int(month[:4]), int(month[5:7])
            after = f"{year + number // 12:04d}-{number % 12 + 1:02d}-01"
            bounds = (f"{month}-01", after)
            self._db.begin()
            try:
                self._db.execute("SELECT pg_advisory_xact_lock(?)", (PARTITION_LOCK_KEY,))
                if self._db.execute("SELECT to_regclass(?)", (name,)).fetchone()[0] is None:
                    self._db.execute(f"CREATE TABLE {name} (LIKE measurements INCLUDING DEFAULTS)")
                    self._db.execute(f"INSERT INTO {name} SELECT * FROM measurements_default "
                                     "WHERE day >= ? AND day < ?", bounds)
                    self._db.execute("DELETE FROM measurements_default WHERE day >= ? AND day < ?", bounds)
                    self._db.execute(f"ALTER TABLE measurements ATTACH PARTITION {name} "
                                     f"FOR VALUES FROM ('{bounds[0]}') TO ('{bounds[1]}')")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._partitions.add(month)

    def partitions(self) -> list[str]:
        """The months (YYYY-MM) that have their own partition (PostgreSQL; none on SQLite)."""
        return sorted(self._partitions)

    def sync_schools(self, registry: Registry) -> None:
        """Put the registry's descriptive columns in the `schools` table, which the Grafana views join."""
        rows = [(s.school_id, s.name, s.region, s.district, s.locality.value, s.category.value, s.isp,
                 s.contracted_bps, s.students) for s in registry]
        with self._lock:
            self._db.begin()
            self._db.execute("DELETE FROM schools")
            self._db.executemany("INSERT INTO schools VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def roll_up(self, judge: Callable[[str, str, list[Measurement]], str | None] | None = None,
                policy: str = "", limit: int = 2000, judged_kinds: Sequence[str] = ()) -> int:
        """Recompute the daily roll-up (and, with `judge`, the day's verdict) of days that got new results.

        `judge` sees the day's trusted records (of `judged_kinds` only, if given: parsing is the cost).
        A day is taken off the to-do list before it is read, so a result arriving meanwhile puts it
        back and it is recomputed on the next pass. Returns how many school-days were rolled up.
        """
        with self._lock:
            keys = self._db.execute("SELECT school_id, day FROM dirty_days ORDER BY day LIMIT ?", (limit,)).fetchall()
            self._db.executemany("DELETE FROM dirty_days WHERE school_id = ? AND day = ?", keys)
        for school_id, day in keys:
            rows = self._read("SELECT kind, value, quarantined, failed, body FROM measurements "
                              "WHERE school_id = ? AND day = ?", (school_id, day))
            summaries = [(school_id, day, kind, *summary) for kind, summary in _summarise(rows).items()]
            status = None
            if judge is not None:
                trusted = [Measurement.model_validate_json(body) for kind, _, held, _, body in rows
                           if not held and (not judged_kinds or kind in judged_kinds)]
                status = judge(school_id, day, trusted)
            with self._lock:
                self._db.begin()
                self._db.executemany(
                    "INSERT INTO daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (school_id, day, kind) DO UPDATE "
                    "SET samples = excluded.samples, quarantined = excluded.quarantined, failed = excluded.failed, "
                    "p10 = excluded.p10, median = excluded.median, p90 = excluded.p90, mean = excluded.mean",
                    summaries)
                if status is not None:
                    self._db.execute("INSERT INTO daily_verdicts VALUES (?, ?, ?, ?) ON CONFLICT "
                                     "(school_id, day, policy) DO UPDATE SET status = excluded.status",
                                     (school_id, day, policy, status))
                self._db.execute("COMMIT")
        return len(keys)

    def daily(self, school_id: str) -> dict[tuple[str, str], tuple]:
        """A school's roll-ups by (day, kind): (samples, quarantined, failed, p10, median, p90, mean)."""
        rows = self._read("SELECT day, kind, samples, quarantined, failed, p10, median, p90, mean FROM daily "
                          "WHERE school_id = ?", (school_id,))
        return {(day, kind): tuple(rest) for day, kind, *rest in rows}

    def daily_verdicts(self, policy: str) -> dict[tuple[str, str], str]:
        """Day-level verdicts of a policy by (school_id, day)."""
        rows = self._read("SELECT school_id, day, status FROM daily_verdicts WHERE policy = ?", (policy,))
        return {(school, day): status for school, day, status in rows}

    def drop_raw_before(self, day: str) -> int:
        """Delete raw results of local days before `day` (YYYY-MM-DD); roll-ups stay. Returns rows deleted.

        On PostgreSQL a month wholly before `day` goes as one partition (DROP TABLE, no vacuum debt)."""
        dropped = 0
        with self._lock:
            for month in sorted(m for m in self._partitions if f"{m}-31" < day):
                name = f"measurements_{month.replace('-', '_')}"
                self._db.begin()
                try:
                    dropped += self._db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                    self._db.execute(f"DROP TABLE {name}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._partitions.discard(month)
            return dropped + self._db.execute("DELETE FROM measurements WHERE day < ?", (day,)).rowcount

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
        rows = self._read(
            "SELECT probe_id, school_id, token_expires_at, revoked_at, last_seen_at, token_hash = ?, "
            "previous_token_hash FROM probes WHERE (token_hash = ? OR previous_token_hash = ?) "
            "AND revoked_at IS NULL AND token_expires_at > ?", (token_hash, token_hash, token_hash, now))
        if not rows:
            return None
        row = rows[0]
        current, previous = row[5], row[6]
        # Writes only when something changed or a minute passed: authentication must not cost an fsync per batch.
        if (current and previous is not None) or row[4] is None or now - row[4] > LAST_SEEN_RESOLUTION_SECONDS:
            with self._lock:
                if current and previous is not None:
                    self._db.execute("UPDATE probes SET previous_token_hash = NULL WHERE probe_id = ?", (row[0],))
                self._db.execute("UPDATE probes SET last_seen_at = ? WHERE probe_id = ?", (now, row[0]))
        return ProbeRecord(*row[:5])

    def probes(self) -> list[ProbeRecord]:
        """Every enrolled probe."""
        rows = self._read("SELECT probe_id, school_id, token_expires_at, revoked_at, last_seen_at "
                          "FROM probes ORDER BY probe_id")
        return [ProbeRecord(*row) for row in rows]


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _summarise(rows) -> dict[str, tuple]:
    """Per kind: (trusted samples, quarantined, failed, p10, median, p90, mean) of the trusted values."""
    by_kind: dict[str, list] = {}
    for kind, value, held, failed, _ in rows:
        by_kind.setdefault(kind, []).append((value, held, failed))
    summaries = {}
    for kind, items in by_kind.items():
        values = sorted(v for v, held, failed in items if not held and not failed and v is not None)
        figures = ((_percentile(values, 0.1), statistics.median(values), _percentile(values, 0.9),
                    statistics.fmean(values)) if values else (None, None, None, None))
        summaries[kind] = (sum(1 for _, held, _ in items if not held), sum(1 for _, held, _ in items if held),
                           sum(1 for _, held, failed in items if failed and not held), *figures)
    return summaries
