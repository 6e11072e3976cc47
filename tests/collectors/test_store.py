"""The store on SQLite and on PostgreSQL: the same schema, the same answers."""

from __future__ import annotations

import time

import pytest

from collectors import enrolment
from collectors.store import DayJudge, Store
from tests.helpers.records import latency_records


def test_inserts_are_idempotent_and_latest_keeps_the_newest_trusted(store_url):
    store = Store(store_url)
    try:
        older, newer = latency_records("KZ-001", "p-1", 2)
        assert store.insert([newer], [False]) == [True]
        assert store.insert([older, newer], [False, False]) == [True, False]
        skewed = latency_records("KZ-001", "p-1", 1, offset=None)[0]
        assert store.insert([skewed], [True]) == [True]           # kept, quarantined, not the latest value
        assert store.latest()[("KZ-001", "latency")] == newer
        assert store.count() == 3 and store.count(quarantined=True) == 1
        trusted = store.trusted_between(0, time.time() + 1)
        assert sorted(m.measurement_id for m in trusted) == sorted([older.measurement_id, newer.measurement_id])
    finally:
        store.close()


def test_migrations_run_once(store_url):
    Store(store_url).close()
    again = Store(store_url)
    try:
        assert again.count() == 0
    finally:
        again.close()


def test_codes_and_tokens(store_url):
    store = Store(store_url)
    try:
        code = enrolment.issue_code(store, "KZ-001")
        assert enrolment.enroll(store, "KZ-002", code) is None
        issued = enrolment.enroll(store, "KZ-001", code)
        assert issued is not None and enrolment.enroll(store, "KZ-001", code) is None
        assert enrolment.authenticate(store, issued.token).probe_id == issued.probe_id
        rotated = enrolment.rotate(store, enrolment.authenticate(store, issued.token))
        assert enrolment.authenticate(store, issued.token) is not None          # until the new one is used
        assert enrolment.authenticate(store, rotated.token) is not None
        assert enrolment.authenticate(store, issued.token) is None
        assert store.revoke(issued.probe_id, time.time()) and enrolment.authenticate(store, rotated.token) is None
        assert [p.probe_id for p in store.probes()] == [issued.probe_id]
    finally:
        store.close()


def _at(records, when):
    """Move records to end at `when` (UTC), keeping their order a second apart."""
    from datetime import timedelta

    moved = []
    for index, record in enumerate(records):
        end = when + timedelta(seconds=index)
        moved.append(record.model_copy(update={"start": end - timedelta(seconds=1), "end": end}))
    return moved


def test_roll_ups_follow_late_results_into_their_own_day_and_outlive_raw_retention(store_url):
    from datetime import datetime, timezone

    store = Store(store_url)
    try:
        monday = datetime(2026, 11, 16, 5, 0, tzinfo=timezone.utc)          # 10:00 in Almaty
        tuesday = datetime(2026, 11, 17, 5, 0, tzinfo=timezone.utc)
        store.insert(_at(latency_records("KZ-001", "p-1", 4), monday), [False] * 4)
        store.insert(_at(latency_records("KZ-001", "p-1", 2), tuesday), [False, True])
        assert store.roll_up() == 2 and store.roll_up() == 0
        monday_row = store.daily("KZ-001")[("2026-11-16", "latency")]
        assert monday_row[:3] == (4, 0, 0)
        assert monday_row[3:6] == pytest.approx((0.02, 0.02015, 0.0203))          # p10, median, p90
        assert store.daily("KZ-001")[("2026-11-17", "latency")][:3] == (1, 1, 0)
        # A probe offline for days uploads Monday's results on Thursday: Monday's roll-up changes.
        store.insert(_at(latency_records("KZ-001", "p-1", 2), monday.replace(hour=7)), [False, False])
        assert store.roll_up() == 1
        assert store.daily("KZ-001")[("2026-11-16", "latency")][0] == 6
        assert store.drop_raw_before("2026-11-17") == 6
        assert store.daily("KZ-001")[("2026-11-16", "latency")][0] == 6               # roll-ups are kept
        assert store.count() == 2
        assert store._read("SELECT count(*) FROM measurement_ids") == [(2,)]          # the ids go with their rows
    finally:
        store.close()


def test_day_verdicts_are_kept_per_policy(store_url):
    from datetime import datetime, timezone

    store = Store(store_url)
    try:
        store.insert(_at(latency_records("KZ-001", "p-1", 3), datetime(2026, 11, 16, 5, tzinfo=timezone.utc)),
                     [False] * 3)
        seen = []

        def judge(school_id, day, records):
            seen.append((school_id, day, len(records)))
            return "no_data"

        store.roll_up([DayJudge("ministry", judge)])
        assert seen == [("KZ-001", "2026-11-16", 3)]
        assert store.daily_verdicts("ministry") == {("KZ-001", "2026-11-16"): "no_data"}
    finally:
        store.close()


def test_backup_and_restore_bring_back_the_store_as_it_was(store_url, tmp_path):
    from tests.helpers.cli import run_cli

    store = Store(store_url)
    try:
        store.insert(latency_records("KZ-001", "p-1", 10), [False] * 10)
        issued = enrolment.enroll(store, "KZ-001", enrolment.issue_code(store, "KZ-001"))
    finally:
        store.close()
    copy = tmp_path / "backup.dump"
    assert run_cli("collector", "backup", "--db", store_url, "--to", copy).returncode == 0
    store = Store(store_url)
    try:
        store.insert(latency_records("KZ-001", "p-1", 5), [False] * 5)
        store.revoke(issued.probe_id, time.time())
    finally:
        store.close()
    restored = run_cli("collector", "restore", "--from", copy, "--db", store_url)
    assert restored.returncode == 0, restored.stderr
    store = Store(store_url)
    try:
        assert store.count() == 10 and store.probes()[0].revoked_at is None
        assert enrolment.authenticate(store, issued.token) is not None
    finally:
        store.close()
    again = run_cli("collector", "backup", "--db", store_url, "--to", copy)
    assert again.returncode == 2 and "exists already" in again.stderr


def test_postgresql_keeps_raw_results_in_monthly_partitions_and_drops_a_month_whole(postgres):
    from datetime import datetime, timezone

    store = Store(postgres.database())
    try:
        october = _at(latency_records("KZ-001", "p-1", 3), datetime(2026, 10, 20, 5, tzinfo=timezone.utc))
        november = _at(latency_records("KZ-001", "p-1", 2), datetime(2026, 11, 16, 5, tzinfo=timezone.utc))
        assert store.insert(october + november, [False] * 5) == [True] * 5
        assert store.partitions() == ["2026-10", "2026-11"]
        rows = store._read("SELECT tableoid::regclass::text, count(*) FROM measurements GROUP BY 1 ORDER BY 1")
        assert rows == [("measurements_2026_10", 3), ("measurements_2026_11", 2)]
        assert store.insert(october, [False] * 3) == [False] * 3              # idempotent across partitions
        assert store.drop_raw_before("2026-11-10") == 3
        assert store.partitions() == ["2026-11"] and store.count() == 2
        assert store._read("SELECT count(*) FROM measurement_ids") == [(2,)]
        assert store._read("SELECT to_regclass('measurements_2026_10')") == [(None,)]
    finally:
        store.close()


def test_a_version_1_postgresql_store_is_migrated_into_partitions_with_its_rows(postgres):
    import psycopg

    from collectors.store import MIGRATIONS, local_day

    url = postgres.database()
    record = latency_records("KZ-001", "p-1", 1)[0]
    day = local_day(record)
    with psycopg.connect(url, autocommit=True) as db:           # the schema as version 1 left it, with a row
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute(f"BEGIN; {MIGRATIONS[0].script(True)}; INSERT INTO schema_version VALUES (1); COMMIT;")
        db.execute("INSERT INTO measurements VALUES (%s, 'KZ-001', 'p-1', 'latency', 0, 1, 0, 0, %s, 0, %s, "
                   "0.02, 0)", (str(record.measurement_id), record.model_dump_json(), day))
    store = Store(url)
    try:
        assert store.partitions() == [day[:7]]
        assert store._read("SELECT tableoid::regclass::text, measurement_id FROM measurements") == [
            (f"measurements_{day[:7].replace('-', '_')}", str(record.measurement_id))]
        assert store.insert([record], [False]) == [False]
    finally:
        store.close()


def test_grafana_views_give_per_test_series_and_day_compliance_by_region(store_url, small_registry):
    from datetime import datetime, timezone

    school = next(iter(small_registry))
    store = Store(store_url)
    try:
        store.sync_schools(small_registry)
        store.sync_schools(small_registry)                                    # again: replaced, not doubled
        store.insert(_at(latency_records(school.school_id, "p-1", 3), datetime(2026, 11, 16, 5, tzinfo=timezone.utc)),
                     [False] * 3)
        store.roll_up([DayJudge("ministry", lambda *_: "below")])
        series = store._read("SELECT school_id, region, kind, value FROM measurement_series ORDER BY time")
        assert [row[:3] for row in series] == [(school.school_id, school.region, "latency")] * 3
        assert [row[3] for row in series] == pytest.approx([0.02, 0.0201, 0.0202])
        daily = store._read("SELECT day, school_id, locality, policy, status, rtt_median_seconds FROM daily_compliance")
        assert [tuple(map(str, row[:5])) for row in daily] == [
            ("2026-11-16", school.school_id, school.locality.value, "ministry", "below")]
        assert daily[0][5] == pytest.approx(0.0201)
        by_region = store._read("SELECT region, schools, meeting, below, no_data FROM daily_compliance_by_region")
        assert by_region == [(school.region, 1, 0, 1, 0)]
    finally:
        store.close()


def _insert_in_a_process(url: str, records: list, answers) -> None:
    store = Store(url)
    try:
        answers.put(store.insert(records, [False] * len(records)))
    finally:
        store.close()


def test_acknowledgements_are_exact_when_processes_store_the_same_records_at_once(store_url):
    import multiprocessing

    Store(store_url).close()
    records = latency_records("KZ-001", "p-1", 300)
    spawn = multiprocessing.get_context("spawn")
    answers = spawn.Queue()
    # Four writers with overlapping halves, twice over: every record must be "new" exactly once.
    parts = [records[:200], records[100:], records[50:250], records[::-1]]
    workers = [spawn.Process(target=_insert_in_a_process, args=(store_url, part, answers)) for part in parts]
    for worker in workers:
        worker.start()
    results = [answers.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert sum(sum(result) for result in results) == 300
    store = Store(store_url)
    try:
        assert store.count() == 300
        assert store.insert(records[:2] + records[:1], [False] * 3) == [False, False, False]
    finally:
        store.close()


def test_only_inserted_records_move_latest_and_the_days_to_roll_up(store_url):
    from datetime import datetime, timezone

    store = Store(store_url)
    try:
        monday = datetime(2026, 11, 16, 5, tzinfo=timezone.utc)
        [record] = _at(latency_records("KZ-001", "p-1", 1), monday)
        assert store.insert([record], [False]) == [True]
        assert store.roll_up() == 1
        newer = record.model_copy(update={"end": record.end.replace(hour=6), "values": {"rtt_median_seconds": 0.9}})
        elsewhere = record.model_copy(update={"school_id": "KZ-002", "probe_id": "p-2"})
        assert store.insert([newer, elsewhere], [False, False]) == [False, False]
        assert store.latest() == {("KZ-001", "latency"): record}
        assert store.roll_up() == 0                                          # no day was marked
    finally:
        store.close()


def test_the_first_copy_of_an_id_in_one_call_is_the_one_stored(store_url):
    from datetime import datetime, timezone

    store = Store(store_url)
    try:
        [record] = _at(latency_records("KZ-001", "p-1", 1), datetime(2026, 11, 16, 5, tzinfo=timezone.utc))
        later = record.model_copy(update={"end": datetime(2026, 11, 18, 5, tzinfo=timezone.utc),
                                          "values": {"rtt_median_seconds": 0.7}})
        assert store.insert([record, later], [False, False]) == [True, False]
        assert store.trusted_between(0, later.end.timestamp() + 1) == [record]
        assert store.latest() == {("KZ-001", "latency"): record}
        assert store.roll_up() == 1 and list(store.daily("KZ-001")) == [("2026-11-16", "latency")]
    finally:
        store.close()


def test_an_id_resent_with_content_on_another_day_is_a_duplicate_and_stored_once(store_url):
    from datetime import datetime, timedelta, timezone

    from collectors.store import local_day

    store = Store(store_url)
    try:
        # Monday 23:30 in Almaty: a clock offset of -1 h moves the same result to Tuesday.
        [record] = _at(latency_records("KZ-001", "p-1", 1), datetime(2026, 11, 16, 18, 30, tzinfo=timezone.utc))
        assert store.insert([record], [False]) == [True]
        wednesday = record.model_copy(update={"end": record.end + timedelta(days=2),
                                              "values": {"rtt_median_seconds": 0.9}})
        offset = record.model_copy(update={"clock_offset_seconds": -3600.0})
        assert {local_day(record), local_day(wednesday), local_day(offset)} == {"2026-11-16", "2026-11-18",
                                                                                "2026-11-17"}
        assert store.insert([wednesday], [False]) == [False]
        assert store.insert([offset], [True]) == [False]
        assert store.count() == 1 and store.measurement_ids() == [str(record.measurement_id)]
        assert store.trusted_between(0, wednesday.end.timestamp() + 1) == [record]
        assert store.latest() == {("KZ-001", "latency"): record}
        assert store.roll_up() == 1 and list(store.daily("KZ-001")) == [("2026-11-16", "latency")]
    finally:
        store.close()


def _version_2_store(url: str, rows: list[tuple]) -> None:
    """The schema as version 2 left it, holding these measurements rows (and nothing to roll up)."""
    from collectors.store import MIGRATIONS
    from collectors.store.connection import Connection

    db = Connection(url)
    try:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, migration in enumerate(MIGRATIONS[:2], start=1):
            db.script(f"{migration.script(db.postgresql)}; INSERT INTO schema_version VALUES ({version})")
        db.executemany("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        newest = rows[-1]
        db.execute("INSERT INTO latest VALUES (?, ?, ?, ?)", (newest[1], newest[3], newest[5], newest[8]))
    finally:
        db.close()


def _row(record, received_at: float) -> tuple:
    """A record as a trusted measurements row."""
    from collectors.store import local_day, primary_value

    return (str(record.measurement_id), record.school_id, record.probe_id, record.kind.value, record.start.timestamp(),
            record.end.timestamp(), record.clock_offset_seconds, 0, record.model_dump_json(), received_at,
            local_day(record), primary_value(record), 0)


def test_a_version_2_store_is_migrated_and_keeps_refusing_its_ids_on_any_day(store_url):
    from datetime import datetime, timedelta, timezone

    monday, other = _at(latency_records("KZ-001", "p-1", 2), datetime(2026, 11, 16, 5, tzinfo=timezone.utc))
    _version_2_store(store_url, [_row(monday, 1.0), _row(other, 1.0)])
    store = Store(store_url)
    try:
        assert sorted(store.measurement_ids()) == sorted([str(monday.measurement_id), str(other.measurement_id)])
        thursday = monday.model_copy(update={"end": monday.end + timedelta(days=3)})
        assert store.insert([thursday, other], [False, False]) == [False, False]
        assert store.count() == 2 and store.roll_up() == 0
    finally:
        store.close()


def test_ids_a_version_2_postgresql_store_held_twice_keep_their_first_copy(postgres):
    from datetime import datetime, timedelta, timezone

    import psycopg

    url = postgres.database()
    [monday] = _at(latency_records("KZ-001", "p-1", 1), datetime(2026, 11, 16, 5, tzinfo=timezone.utc))
    # The defect this migration repairs: the same id stored again a day later, which became the latest value.
    tuesday = monday.model_copy(update={"end": monday.end + timedelta(days=1), "values": {"rtt_median_seconds": 0.9}})
    _version_2_store(url, [_row(monday, 1.0), _row(tuesday, 2.0)])
    with psycopg.connect(url, autocommit=True) as db:                      # both days rolled up, duplicate included
        db.execute("INSERT INTO daily VALUES ('KZ-001', '2026-11-16', 'latency', 1, 0, 0, 0.02, 0.02, 0.02, 0.02), "
                   "('KZ-001', '2026-11-17', 'latency', 1, 0, 0, 0.9, 0.9, 0.9, 0.9)")
    store = Store(url)
    try:
        assert store.count() == 1 and store.trusted_between(0, tuesday.end.timestamp() + 1) == [monday]
        assert store.latest() == {("KZ-001", "latency"): monday}
        assert store.roll_up() == 1 and list(store.daily("KZ-001")) == [("2026-11-16", "latency")]
        assert store.insert([tuesday], [False]) == [False]
    finally:
        store.close()
