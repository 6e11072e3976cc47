"""The store's schema: the tables and views of both engines, and the migrations that build them in order.

Both engines run the same SQL where they share it (`ON CONFLICT`, `DOUBLE PRECISION`); a migration
says where they differ. Applied migrations are counted in `schema_version`; each runs once.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.store.connection import Connection

# The raw results' columns in order: name, SQL type, and the array type PostgreSQL's unnest() of a whole
# batch reads them as.
MEASUREMENT_FIELDS = (
    ("measurement_id", "TEXT NOT NULL", "text"), ("school_id", "TEXT NOT NULL", "text"),
    ("probe_id", "TEXT NOT NULL", "text"), ("kind", "TEXT NOT NULL", "text"),
    ("start_ts", "DOUBLE PRECISION NOT NULL", "float8"), ("end_ts", "DOUBLE PRECISION NOT NULL", "float8"),
    ("clock_offset_seconds", "DOUBLE PRECISION", "float8"), ("quarantined", "INTEGER NOT NULL", "int"),
    ("body", "TEXT NOT NULL", "text"), ("received_at", "DOUBLE PRECISION NOT NULL", "float8"),
    ("day", "TEXT NOT NULL", "text"), ("value", "DOUBLE PRECISION", "float8"), ("failed", "INTEGER NOT NULL", "int"),
)
MEASUREMENT_COLUMNS = ",".join(f"\n        {name} {kind}" for name, kind, _ in MEASUREMENT_FIELDS)


CORRECTED_TS = "m.end_ts - coalesce(m.clock_offset_seconds, 0)"
POSTGRESQL_DIALECT = {"time": "to_timestamp(m.end_ts)", "corrected": f"to_timestamp({CORRECTED_TS})",
                      "day": "v.day::date", "target": "m.body::jsonb ->> 'target'",
                      "method": "m.body::jsonb ->> 'method'"}
SQLITE_DIALECT = {"time": "m.end_ts", "corrected": CORRECTED_TS, "day": "v.day",
                  "target": "json_extract(m.body, '$.target')", "method": "json_extract(m.body, '$.method')"}


@dataclass(frozen=True)
class Migration:
    """One schema step: what both engines run, and where they must differ, each engine's own part (run first).

    `{time}`, `{corrected}` (the time less the probe's clock offset) and `{day}` in the shared part become
    the engine's expressions for a unix time and a local day, so that views give Grafana real timestamps and
    dates on PostgreSQL; `{target}` and `{method}` read those fields of a measurement's JSON `body`.
    """

    both: str = ""
    postgresql: str = ""
    sqlite: str = ""

    def script(self, postgresql: bool) -> str:
        """The SQL this engine runs."""
        own = self.postgresql if postgresql else self.sqlite
        dialect = POSTGRESQL_DIALECT if postgresql else SQLITE_DIALECT
        return "; ".join(part for part in (own, self.both.format(**dialect)) if part)


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
    # 3: an id is stored once whatever its day. A partitioned table's keys must hold its partition key, so on
    # PostgreSQL `measurements` refuses an id only within one day: there every insert first claims its ids
    # in `measurement_ids` (one table, not partitioned, same transaction). SQLite's `measurements` is keyed
    # by the id alone; `measurement_ids` is a view of it. Ids stored twice before this step keep their first
    # copy (the one acknowledged "accepted" first); the later copies go, and the roll-ups and latest values
    # they touched are recomputed. The partitioned key (measurement_id, day) goes: the claim guards more, and
    # each insert would otherwise feed two random-order indexes of ids.
    Migration(postgresql="""
    CREATE TEMPORARY TABLE later_copies ON COMMIT DROP AS
        SELECT DISTINCT m.measurement_id, m.day, m.school_id, m.kind FROM measurements m JOIN measurements f
        ON f.measurement_id = m.measurement_id AND (f.received_at, f.day) < (m.received_at, m.day);
    DELETE FROM measurements m USING later_copies c WHERE m.measurement_id = c.measurement_id AND m.day = c.day;
    DELETE FROM daily d USING later_copies c WHERE d.school_id = c.school_id AND d.day = c.day AND d.kind = c.kind;
    INSERT INTO dirty_days SELECT DISTINCT school_id, day FROM later_copies ON CONFLICT DO NOTHING;
    DELETE FROM latest l USING later_copies c WHERE l.school_id = c.school_id AND l.kind = c.kind;
    INSERT INTO latest SELECT DISTINCT ON (m.school_id, m.kind) m.school_id, m.kind, m.end_ts, m.body
        FROM measurements m JOIN (SELECT DISTINCT school_id, kind FROM later_copies) c USING (school_id, kind)
        WHERE m.quarantined = 0 ORDER BY m.school_id, m.kind, m.end_ts DESC;
    ALTER TABLE measurements DROP CONSTRAINT measurements_pkey;
    CREATE TABLE measurement_ids (measurement_id TEXT PRIMARY KEY);
    INSERT INTO measurement_ids SELECT measurement_id FROM measurements
    """, sqlite="CREATE VIEW measurement_ids AS SELECT measurement_id FROM measurements"),
    # 4: the series view gains what a measurement was aimed at (platform, ndt7 server) and how, the time
    # corrected by the probe's clock offset, and when it reached the centre (the dashboards' SQL panels).
    Migration("""
    DROP VIEW measurement_series;
    CREATE VIEW measurement_series AS
        SELECT {time} AS time, {corrected} AS corrected_time, m.school_id, s.region, s.district, s.locality,
               s.category, m.kind, {target} AS target, {method} AS method, m.value, m.failed, m.quarantined,
               m.probe_id, m.measurement_id, m.clock_offset_seconds, m.received_at, m.body AS record
        FROM measurements m LEFT JOIN schools s ON s.school_id = m.school_id
    """),
)


# Every table of the store on PostgreSQL (partitions go with their parent; views with CASCADE).
STORE_TABLES = ("schema_version", "measurements", "measurement_ids", "latest", "probes", "daily", "daily_verdicts",
                "dirty_days", "enrolment_codes", "schools")


def migrate(db: Connection) -> None:
    """Run the migrations this database has not had yet, each in its own transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
    for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
        db.script(f"{migration.script(db.postgresql)}; INSERT INTO schema_version VALUES ({version})")
