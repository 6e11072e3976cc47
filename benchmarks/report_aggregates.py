"""The report benchmark's compared aggregates: by the report's pandas functions and by DuckDB SQL, each on the same
Parquet files (the aggregates alone) or from its own store (the read timed with them); see benchmarks/report.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.verdict import Period

POLICY = "ministry"
GROUPINGS = ("region", "locality")


@dataclass(frozen=True)
class Aggregates:
    """The compared figures: medians (bit/s, by school_id), compliance shares (0-1), Gini and Theil-T parts."""

    medians: pd.Series                  # index school_id: median over days of the day's median download, bit/s
    compliance: pd.DataFrame            # index (grouping, group): school_share, student_share
    inequality: pd.Series               # gini, theil, theil_within_<g>, theil_between_<g>


def ours(folder: Path) -> Aggregates:
    """The aggregates by the report's own analysis functions (pandas) on the Parquet files."""
    schools = pd.read_parquet(folder / "schools.parquet")     # the columns the aggregates use, as DuckDB reads them
    daily = pd.read_parquet(folder / "daily.parquet", columns=["school_id", "kind", "median"])
    verdicts = pd.read_parquet(folder / "verdicts.parquet", columns=["school_id", "status"])
    return aggregates(schools, daily, verdicts)


def ours_from_store(db: Path, period: Period) -> Aggregates:
    """The aggregates by the report's analysis functions on the store's read API and the registry (the read timed)."""
    from collectors.store import Store
    from core.registry import load_registry
    from reports.analysis.schools import school_frame

    store = Store(db)
    try:
        daily, verdicts = store.daily_figures(period, ("download",)), store.day_verdicts(POLICY, period)
    finally:
        store.close()
    return aggregates(school_frame(load_registry(db.with_suffix(".csv"))), daily, verdicts)


def aggregates(schools: pd.DataFrame, daily: pd.DataFrame, verdicts: pd.DataFrame) -> Aggregates:
    """The compared figures from schools (school_frame), download roll-ups and day verdicts, by `reports.analysis`."""
    from reports.analysis.compliance import compliance, statuses
    from reports.analysis.inequality import theil_decomposition, weighted_gini
    from reports.analysis.schools import counted, school_figures

    figures = school_figures(schools, daily, verdicts)
    by_policy = statuses(figures, {POLICY: verdicts})
    shares = pd.concat([compliance(figures, by_policy, by).rename(columns={by: "group"}).assign(grouping=by)
                        for by in GROUPINGS]).set_index(["grouping", "group"])[["school_share", "student_share"]]
    values = counted(figures)
    inequality = {"gini": weighted_gini(values["per_student_bps"], values["students"])}
    for by in GROUPINGS:
        parts = theil_decomposition(values, "per_student_bps", "students", by)
        inequality.update({"theil": parts.total, f"theil_within_{by}": parts.within, f"theil_between_{by}": parts.between})
    medians = figures.set_index("school_id")["measured_download_bps"]
    return Aggregates(medians[figures["state"].to_numpy() == "measured"], shares, pd.Series(inequality))


FIGURES_SQL = """
CREATE TEMP TABLE figures AS
WITH med AS (SELECT school_id, median("median") AS download_bps FROM {daily}
             WHERE kind = 'download' AND "median" IS NOT NULL GROUP BY school_id),
     days AS (SELECT school_id, sum(CASE WHEN status = 'meets' THEN 1 ELSE 0 END) AS meeting,
                     sum(CASE WHEN status IN ('meets', 'below') THEN 1 ELSE 0 END) AS judged
              FROM {verdicts} GROUP BY school_id)
SELECT s.school_id, s.region, s.locality, s.students, s.contracted_bps > 0 AS connected,
       med.download_bps IS NOT NULL AS measured,
       CASE WHEN s.contracted_bps > 0 THEN med.download_bps ELSE 0 END
           / greatest(s.busiest_shift_students, 1) AS per_student_bps,
       med.download_bps,
       CASE WHEN s.contracted_bps <= 0 THEN 'below' WHEN coalesce(days.judged, 0) = 0 THEN 'no data'
            WHEN 2 * days.meeting > days.judged THEN 'meets' ELSE 'below' END AS status
FROM {schools} s LEFT JOIN med USING (school_id) LEFT JOIN days USING (school_id)
"""
SHARES_SQL = """
SELECT '{by}' AS grouping, {by} AS "group",
       sum(CASE WHEN status = 'meets' THEN 1 ELSE 0 END)
           / nullif(sum(CASE WHEN status IN ('meets', 'below') THEN 1 ELSE 0 END), 0) AS school_share,
       sum(CASE WHEN status = 'meets' THEN students ELSE 0 END)
           / nullif(sum(CASE WHEN status IN ('meets', 'below') THEN students ELSE 0 END), 0) AS student_share
FROM figures GROUP BY {by}
"""
# The schools whose bandwidth counts (measured or unconnected), with students.
VALUES_SQL = """
CREATE TEMP TABLE vals AS SELECT region, locality, per_student_bps AS x, students::DOUBLE AS w FROM figures
WHERE (measured OR NOT connected) AND per_student_bps IS NOT NULL AND students > 0
"""
GINI_SQL = """
SELECT sum(w * x * (2 * c - w - total_w)) / (any_value(total_w) * any_value(total_wx)) FROM (
    SELECT x, w, sum(w) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) AS c, sum(w) OVER () AS total_w,
           sum(w * x) OVER () AS total_wx FROM vals)
"""
THEIL_SQL = """
WITH whole AS (SELECT sum(w) AS total_w, sum(w * x) / sum(w) AS m FROM vals),
     groups AS (SELECT {by} AS g, sum(w) AS wg, sum(w * x) / sum(w) AS mg FROM vals GROUP BY {by}),
     inner_terms AS (SELECT g, sum(CASE WHEN x > 0 THEN w * (x / mg) * ln(x / mg) ELSE 0 END) / any_value(wg) AS tg
                     FROM vals JOIN groups ON g = {by} WHERE mg > 0 GROUP BY g)
SELECT (SELECT sum(CASE WHEN x > 0 THEN w * (x / m) * ln(x / m) ELSE 0 END) / any_value(total_w) FROM vals, whole),
       sum(wg * mg / (total_w * m) * coalesce(tg, 0)),
       sum(CASE WHEN mg > 0 THEN wg * mg / (total_w * m) * ln(mg / m) ELSE 0 END)
FROM groups CROSS JOIN whole LEFT JOIN inner_terms USING (g)
"""


def by_duckdb(folder: Path) -> Aggregates:
    """The same aggregates in SQL by DuckDB on the same Parquet files."""
    import duckdb

    db = duckdb.connect()
    try:
        return duckdb_aggregates(db, {name: f"read_parquet('{folder / name}.parquet')"
                                      for name in ("daily", "verdicts", "schools")})
    finally:
        db.close()


def duckdb_from_store(db: Path, period: Period) -> Aggregates:
    """The same aggregates in SQL by DuckDB from its own database file holding the store's tables (`to_duckdb`)."""
    import duckdb

    days = f"day BETWEEN '{period.first}' AND '{period.last}'"
    duck = duckdb.connect(str(db.with_suffix(".duckdb")), read_only=True)
    try:
        return duckdb_aggregates(duck, {
            "daily": f"(SELECT * FROM daily WHERE {days} AND kind = 'download')",
            "verdicts": f"(SELECT * FROM daily_verdicts WHERE {days} AND policy = '{POLICY}')", "schools": "schools"})
    finally:
        duck.close()


def duckdb_aggregates(db, tables: dict[str, str]) -> Aggregates:
    """The aggregates in SQL on a DuckDB connection, from the table expressions `daily`, `verdicts` and `schools`."""
    db.execute(FIGURES_SQL.format(**tables))
    medians = db.execute("SELECT school_id, download_bps FROM figures WHERE measured AND connected").df()
    shares = db.execute(" UNION ALL ".join(SHARES_SQL.format(by=by) for by in GROUPINGS)).df()
    db.execute(VALUES_SQL)
    inequality = {"gini": db.execute(GINI_SQL).fetchone()[0]}
    for by in GROUPINGS:
        total, within, between = db.execute(THEIL_SQL.format(by=by)).fetchone()
        inequality.update({"theil": total, f"theil_within_{by}": within, f"theil_between_{by}": between})
    return Aggregates(medians.set_index("school_id")["download_bps"],
                      shares.set_index(["grouping", "group"])[["school_share", "student_share"]],
                      pd.Series(inequality, dtype="float64"))


def to_duckdb(db: Path) -> Path:
    """The store's `daily` and `daily_verdicts` tables (every row, text days as stored) and the registry's schools
    copied once into a DuckDB database file beside the store, as DuckDB would hold them; its path."""
    import sqlite3

    import duckdb

    from core.registry import load_registry
    from reports.analysis.schools import school_frame

    target = db.with_suffix(".duckdb")
    if target.is_file():
        return target
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    source, duck = sqlite3.connect(db), duckdb.connect(str(partial))
    try:
        for table in ("daily", "daily_verdicts"):
            for number, chunk in enumerate(pd.read_sql_query(f"SELECT * FROM {table}", source, chunksize=500_000)):
                duck.register("chunk", chunk)
                duck.execute(f"INSERT INTO {table} SELECT * FROM chunk" if number else
                             f"CREATE TABLE {table} AS SELECT * FROM chunk")
                duck.unregister("chunk")
        duck.register("registry", school_frame(load_registry(db.with_suffix(".csv"))))
        duck.execute("CREATE TABLE schools AS SELECT * FROM registry")
    finally:
        source.close()
        duck.close()
    partial.rename(target)
    return target


def differences(a: Aggregates, b: Aggregates) -> list[str]:
    """Where two sets of aggregates differ beyond rounding (relative 1e-9); empty when they agree."""
    found = []
    medians = a.medians.sort_index(), b.medians.sort_index()
    if list(medians[0].index) != list(medians[1].index) or not _close(medians[0], medians[1]):
        found.append("per-school medians")
    shares = a.compliance.sort_index(), b.compliance.sort_index()
    if list(shares[0].index) != list(shares[1].index) or not _close(shares[0], shares[1]):
        found.append("compliance shares")
    found += [name for name in a.inequality.index if not _close(a.inequality[[name]], b.inequality[[name]])]
    return found


def _close(a, b) -> bool:
    import numpy as np

    return bool(np.allclose(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"), rtol=1e-9, atol=0,
                            equal_nan=True))
