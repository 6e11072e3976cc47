"""The store's schema: the tables and views of both engines, and the migrations that build them in order.

Both engines run the same SQL where they share it (`ON CONFLICT`, `DOUBLE PRECISION`); a migration
says where they differ. Applied migrations are counted in `schema_version`; each runs once.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.store.connection import Connection

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

    both: str
    postgresql: str = ""
    sqlite: str = ""

    def script(self, postgresql: bool) -> str:
        """The SQL this engine runs."""
        own = self.postgresql if postgresql else self.sqlite
        dialect = POSTGRESQL_DIALECT if postgresql else SQLITE_DIALECT
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
    # 3: the series view gains what a measurement was aimed at (platform, ndt7 server) and how, the time
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


# Every table of the store (partitions go with their parent; views with CASCADE).
STORE_TABLES = ("schema_version", "measurements", "latest", "probes", "daily", "daily_verdicts", "dirty_days",
                "enrolment_codes", "schools")


def migrate(db: Connection) -> None:
    """Run the migrations this database has not had yet, each in its own transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = db.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
    for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
        db.script(f"{migration.script(db.postgresql)}; INSERT INTO schema_version VALUES ({version})")
