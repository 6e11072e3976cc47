"""The store's read API for analyses: the same DataFrames, columns and units on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from collectors.store import DayJudge, Store
from core.verdict import Period
from tests.helpers.records import latency_records

MONDAY = datetime(2026, 11, 16, 5, tzinfo=timezone.utc)               # 10:00 in Almaty
WEEK = Period(date(2026, 11, 16), date(2026, 11, 22))


def _at(records, when):
    """Records ending at `when` (UTC), a second apart."""
    return [r.model_copy(update={"start": when + timedelta(seconds=i - 1), "end": when + timedelta(seconds=i)})
            for i, r in enumerate(records)]


@pytest.fixture
def store(store_url, small_registry):
    """Two schools' Monday and Tuesday, one quarantined and one failed record among them, rolled up and judged."""
    store = Store(store_url)
    store.sync_schools(small_registry)
    monday = _at(latency_records("KZ-001", "p-1", 4), MONDAY)
    failed = monday[3].model_copy(update={"error": "no reply", "values": {"loss_ratio": 1.0, "packets_sent": 10.0}})
    store.insert([*monday[:3], failed], [False, False, True, False])
    store.insert(_at(latency_records("KZ-001", "p-1", 2), MONDAY + timedelta(days=1)), [False, False])
    store.insert(_at(latency_records("KZ-002", "p-2", 1), MONDAY), [False])
    store.insert(_at(latency_records("KZ-001", "p-1", 1), MONDAY + timedelta(days=14)), [False])   # outside WEEK
    store.roll_up([DayJudge("ministry", lambda school, day, records: "meets" if len(records) > 2 else "no data"),
                   DayJudge("giga-2030", lambda *_: "below")])
    yield store
    store.close()


def test_daily_figures_are_the_roll_up_of_the_period(store):
    figures = store.daily_figures(WEEK)
    assert list(figures.columns) == ["day", "school_id", "kind", "samples", "quarantined", "failed", "p10",
                                     "median", "p90", "mean"]
    assert [(d.date().isoformat(), s) for d, s in zip(figures["day"], figures["school_id"])] == [
        ("2026-11-16", "KZ-001"), ("2026-11-16", "KZ-002"), ("2026-11-17", "KZ-001")]
    monday = figures.iloc[0]
    assert (monday["kind"], monday["samples"], monday["quarantined"], monday["failed"]) == ("latency", 3, 1, 1)
    assert (monday["p10"], monday["median"], monday["mean"]) == pytest.approx((0.02, 0.02005, 0.02005))
    assert str(figures["samples"].dtype) == "int64" and str(figures["median"].dtype) == "float64"
    assert pd.api.types.is_datetime64_any_dtype(figures["day"])
    assert store.daily_figures(WEEK, kinds=["download"]).empty
    assert len(store.daily_figures(Period(date(2026, 11, 30), date(2026, 11, 30)))) == 1


def test_day_verdicts_are_per_policy(store):
    ministry = store.day_verdicts("ministry", WEEK)
    assert list(ministry.columns) == ["day", "school_id", "status"]
    assert [(d.date().isoformat(), s, v) for d, s, v in ministry.itertuples(index=False)] == [
        ("2026-11-16", "KZ-001", "meets"), ("2026-11-16", "KZ-002", "no data"), ("2026-11-17", "KZ-001", "no data")]
    assert set(store.day_verdicts("giga-2030", WEEK)["status"]) == {"below"}
    assert store.day_verdicts("equal-norms", WEEK).empty


def test_the_school_table_is_the_synced_registry(store, small_registry):
    schools = store.school_table()
    assert list(schools["school_id"]) == sorted(s.school_id for s in small_registry)
    first = schools.iloc[0]
    school = small_registry[first["school_id"]]
    assert (first["region"], first["locality"], first["contracted_bps"], first["students"]) == (
        school.region, school.locality.value, school.contracted_bps, school.students)


def test_trusted_measurements_of_one_school_carry_their_values(store):
    monday = store.trusted_measurements("KZ-001", Period(date(2026, 11, 16), date(2026, 11, 16)))
    assert list(monday.columns[:12]) == ["measurement_id", "probe_id", "kind", "target", "method", "start", "end",
                                         "clock_offset_seconds", "day", "value", "failed", "error"]
    assert list(monday["failed"]) == [False, False, True]                      # the quarantined one is not there
    assert list(monday["error"]) == ["", "", "no reply"]
    assert monday["end"].iloc[0] == pd.Timestamp(MONDAY)
    assert list(monday["value"][:2]) == pytest.approx([0.02, 0.0201]) and pd.isna(monday["value"].iloc[2])
    assert list(monday["loss_ratio"]) == [0.0, 0.0, 1.0] and pd.isna(monday["rtt_median_seconds"].iloc[2])
    assert len(store.trusted_measurements("KZ-001", WEEK)) == 5
    assert store.trusted_measurements("KZ-001", WEEK, kinds=["dns"]).empty
    assert store.trusted_measurements("KZ-003", WEEK).empty


def test_names_keep_every_character_and_an_empty_read_keeps_its_types(store_url, small_registry):
    from core.registry import Registry

    odd = 'Школа "Ақ, жол"\nNo. 2; \'Үміт\' ӘҒҚҢӨҰҮҺІ'
    schools = [school.model_copy(update={"name": odd}) if school.school_id == "KZ-002" else school
               for school in small_registry]
    store = Store(store_url)
    try:
        empty = store.school_table()
        store.sync_schools(Registry(tuple(schools)))
        table = store.school_table()
        verdicts = store.day_verdicts("ministry", WEEK)
    finally:
        store.close()
    assert table.set_index("school_id").loc["KZ-002", "name"] == odd
    assert empty.empty and empty.dtypes.to_dict() == table.dtypes.to_dict()
    assert verdicts.empty and list(verdicts.columns) == ["day", "school_id", "status"]
    assert str(verdicts["day"].dtype) == "datetime64[us]" and str(verdicts["school_id"].dtype) == "str"


def test_figures_keep_every_bit_of_a_float_and_missing_ones_as_nan(store_url, small_registry):
    """A value with 17 significant digits comes back exactly; a day of failures alone has no median."""
    precise = 0.1 + 0.2                                   # 0.30000000000000004
    store = Store(store_url)
    try:
        store.sync_schools(small_registry)
        [record] = _at(latency_records("KZ-001", "p-1", 1), MONDAY)
        store.insert([record.model_copy(update={"values": {**record.values, "rtt_median_seconds": precise}})],
                     [False])
        [failed] = _at(latency_records("KZ-002", "p-2", 1), MONDAY)
        store.insert([failed.model_copy(update={"error": "no reply", "values": {"loss_ratio": 1.0}})], [False])
        store.roll_up()
        figures = store.daily_figures(WEEK).set_index("school_id")
    finally:
        store.close()
    assert figures.loc["KZ-001", "median"] == precise and figures.loc["KZ-001", "p90"] == precise
    assert (figures.loc["KZ-002", "samples"], figures.loc["KZ-002", "failed"]) == (1, 1)
    assert figures.loc["KZ-002", ["p10", "median", "p90", "mean"]].isna().all()


def test_a_read_in_many_chunks_is_the_read_in_one(store):
    whole = store.daily_figures(WEEK), store.day_verdicts("ministry", WEEK), store.school_table()
    store.read_chunk_rows = 1                             # every row its own chunk (SQLite; PostgreSQL copies whole)
    pieces = store.daily_figures(WEEK), store.day_verdicts("ministry", WEEK), store.school_table()
    for one, many in zip(whole, pieces):
        pd.testing.assert_frame_equal(one, many)
        assert list(many.index) == list(range(len(many)))
