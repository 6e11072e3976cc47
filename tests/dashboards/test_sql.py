"""The store's views the SQL panels read, and every SQL query of every dashboard run on the real PostgreSQL store
filled by the fleet simulator, Grafana's macros and variables expanded first: each must return rows with values."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest

from collectors import enrolment
from collectors.fleet_upload import into_store
from collectors.simulator import LEAN, FleetSimulator, Troubles
from collectors.store import Store
from core.norms import load_policy
from core.synthetic import generate_registry
from core.timezone import almaty
from dashboards import DASHBOARDS, dashboard_json

WEEK = date(2026, 11, 16)                      # a school week, Monday to Sunday
SERIES_COLUMNS = ["time", "corrected_time", "school_id", "region", "district", "locality", "category", "kind",
                  "target", "method", "value", "failed", "quarantined", "probe_id", "measurement_id",
                  "clock_offset_seconds", "received_at", "record"]
MACRO = re.compile(r"\$__(?P<name>timeFilter|timeFrom|timeTo|timeGroupAlias|timeGroup)\((?P<args>[^)]*)\)")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def test_the_series_view_has_the_target_and_the_clock_corrected_time(store_url, small_registry, calendar):
    simulator = FleetSimulator(small_registry, calendar, seed=3, schedule=LEAN,
                               troubles=Troubles(silent=0.0, outage_day=0.0, unknown_clock=0.0, skewed_clock=0.0))
    store = Store(store_url)
    try:
        store.sync_schools(small_registry)
        records = next(simulator.days(WEEK, 1))
        store.insert(records, [False] * len(records))
        sql = "SELECT * FROM measurement_series WHERE measurement_id = ?"
        by_id = {str(m.measurement_id): m for m in records}
        for record in records[:20]:
            rows, columns = store._read(sql, (str(record.measurement_id),)), _columns(store, "measurement_series")
            assert columns == SERIES_COLUMNS
            row = dict(zip(columns, rows[0]))
            measured = by_id[row["measurement_id"]]
            assert (row["target"], row["method"]) == (measured.target, measured.method)
            end, corrected = (row["time"], row["corrected_time"]) if not store.postgresql else (
                row["time"].timestamp(), row["corrected_time"].timestamp())
            assert end == pytest.approx(measured.end.timestamp())
            assert end - corrected == pytest.approx(measured.clock_offset_seconds, abs=1e-3)
            assert row["region"] == small_registry[measured.school_id].region
    finally:
        store.close()


def _columns(store: Store, view: str) -> list[str]:
    if store.postgresql:
        rows = store._read("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                           "ORDER BY ordinal_position", (view,))
        return [name for (name,) in rows]
    return [row[1] for row in store._read(f"PRAGMA table_info({view})")]


def grafana_sql(sql: str, variables: dict[str, str], start: datetime, end: datetime, interval: str) -> str:
    """The query as Grafana's PostgreSQL data source runs it: variables replaced, then its macros."""
    sql = sql.replace("$__interval", interval)
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        sql = sql.replace(f"${name}", value)
    first, last = (f"'{moment.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}'" for moment in (start, end))

    def macro(match: re.Match) -> str:
        args = [arg.strip().strip("'") for arg in match["args"].split(",")]
        if match["name"] == "timeFilter":
            return f"{args[0]} BETWEEN {first} AND {last}"
        if match["name"] in ("timeFrom", "timeTo"):
            return first if match["name"] == "timeFrom" else last
        seconds = int(args[1][:-1]) * UNITS[args[1][-1]]
        group = f"floor(extract(epoch from {args[0]})/{seconds})*{seconds}"
        return f'{group} AS "time"' if match["name"] == "timeGroupAlias" else group

    expanded = MACRO.sub(macro, sql)
    assert "$" not in expanded, f"unexpanded variable or macro in {expanded}"
    return expanded


def sql_targets(policy) -> list[tuple[str, str, str]]:
    """(where, format, raw SQL) of every SQL target of every dashboard."""
    return [(f"{uid}: {panel['title']} {target['refId']}", target["format"], target["rawSql"])
            for uid in DASHBOARDS for panel in dashboard_json(uid, policy)["panels"]
            for target in panel["targets"] if "rawSql" in target]


@pytest.fixture(scope="module")
def fleet_store(postgres, calendar):
    """A PostgreSQL store holding a simulated school week of 40 schools, judged, with some probes enrolled."""
    registry = generate_registry(40, seed=5)
    url = postgres.database()
    store = Store(url)
    try:
        simulator = FleetSimulator(registry, calendar, seed=4, schedule=LEAN, troubles=Troubles(silent=0.05))
        assert into_store(simulator, store, WEEK, 7, [load_policy("ministry")]) > 40 * 7
        for school in list(registry)[:10]:
            issued = enrolment.enroll(store, school.school_id, enrolment.issue_code(store, school.school_id))
            if school.school_id.endswith(("1", "3", "5")):
                store.probe_by_token(enrolment.digest(issued.token), issued.expires_at - 1)
    finally:
        store.close()
    return url, registry, simulator


def test_every_sql_panel_returns_rows_from_the_postgresql_store(fleet_store):
    url, registry, simulator = fleet_store
    policy = load_policy("ministry")
    school = next(s for s in registry if s.school_id not in simulator.silent and simulator.clock[s.school_id] == "ok")
    variables = {"school": school.school_id, "region": school.region, "platform": ".*"}
    start = datetime.combine(WEEK, datetime.min.time(), almaty())
    targets = sql_targets(policy)
    assert {uid.split(":")[0] for uid, *_ in targets} >= {"mektepnet-school", "mektepnet-region", "mektepnet-fleet"}
    empty = []
    with psycopg.connect(url) as db:
        for where, form, raw in targets:
            cursor = db.execute(grafana_sql(raw, variables, start, start + timedelta(days=7), "1h"))
            columns, rows = [column.name for column in cursor.description], cursor.fetchall()
            if form == "time_series":
                assert columns[0] == "time", f"{where}: a time series query must return `time` first: {columns}"
            if not any(value is not None for row in rows for value in row[1 if form == "time_series" else 0:]):
                empty.append(f"{where}: {len(rows)} rows without values")
    assert empty == []
    assert len(targets) >= 10
