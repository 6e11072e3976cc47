"""A small corner of the report benchmark: our aggregates equal DuckDB's on the same data; the national run is not a test."""

from __future__ import annotations

from datetime import date

import pytest

from benchmarks.report import MONTH, build_store, export, run, table
from benchmarks.report_aggregates import by_duckdb, differences, duckdb_from_store, ours, ours_from_store, to_duckdb
from core.verdict import Period

WEEK = Period(MONTH.first, date(2025, 10, 7))


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """200 synthetic schools, a week through the live roll-up path, and the week's Parquet export."""
    folder = tmp_path_factory.mktemp("report-bench")
    db = folder / "store.sqlite3"
    from collectors.simulator import LEAN

    build_store(db, 200, WEEK, LEAN)
    export(db, WEEK, folder)
    return db, folder


def test_our_aggregates_equal_duckdbs_on_the_same_parquet(week):
    _, folder = week
    mine, theirs = ours(folder), by_duckdb(folder)
    assert differences(mine, theirs) == []
    assert 150 < len(mine.medians) < 200                     # silent schools and unconnected ones have none
    assert set(mine.compliance.index.get_level_values("grouping")) == {"region", "locality"}
    assert mine.compliance.loc["locality"].index.tolist() == ["rural", "urban"]
    assert 0 < mine.inequality["gini"] < 1
    for by in ("region", "locality"):                        # the parts sum to the total on both sides
        assert theirs.inequality[f"theil_within_{by}"] + theirs.inequality[f"theil_between_{by}"] == pytest.approx(
            theirs.inequality["theil"], rel=1e-9)


def test_from_each_ones_store_the_aggregates_are_those_of_the_parquet(week):
    db, folder = week
    to_duckdb(db)
    mine = ours(folder)
    assert differences(mine, ours_from_store(db, WEEK)) == []
    assert differences(mine, duckdb_from_store(db, WEEK)) == []
    first_days = Period(WEEK.first, date(2025, 10, 3))           # DuckDB filters its whole tables to the period
    assert differences(ours_from_store(db, first_days), duckdb_from_store(db, first_days)) == []
    assert differences(mine, duckdb_from_store(db, first_days)) != []


def test_a_different_figure_is_reported_as_a_difference(week):
    _, folder = week
    mine, theirs = ours(folder), by_duckdb(folder)
    theirs.medians.iloc[0] *= 1.001
    theirs.inequality["gini"] += 1e-6
    assert differences(mine, theirs) == ["per-school medians", "gini"]


def test_the_command_measures_each_side_in_its_own_process_and_prints_the_ratios(week):
    db, _ = week
    row = run(db, WEEK)
    assert row["days"] == 7 and row["schools"] == 200 and row["records"] > 10_000
    assert all(row[side]["seconds"] > 0 and row[side]["peak_bytes"] > 2**20
               for side in ("report", "ours", "duckdb", "ours_store", "duckdb_store"))
    assert "| 7 days | 200 |" in table([row])
