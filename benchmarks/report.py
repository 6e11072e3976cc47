"""The inequality report over a national month and a school year of roll-ups: time and peak memory against DuckDB.

The store is built once by the fleet simulator through the live roll-up path (`collectors.fleet_upload.into_store`,
judged under the ministry policy) and kept; the build time is printed. A national school year does not fit the
time this machine gives it (one simulated school day of 7,500 schools takes 16-20 s to insert and roll up, so
a year about 1.5 h), so `--period year` simulates the year's first four weeks on a thin schedule (throughput
tests and hourly latency trains, no DNS/HTTP: the download roll-ups and day verdicts the report reads are made
the same way, only the other kinds' rows are fewer) and copies their roll-up rows (`daily`, `daily_verdicts`)
forward in four-week steps to the year's last day: the year's rows have the right number and shape (weekdays
kept), not a year's weather. The month is read from the same store. Then, each in a
fresh process (time inside it, peak RSS of the whole process):

- `report`: the report's analysis as `mektepnet report inequality` runs it (`reports.build.analyse_store`):
  read the store, both periods, every indicator; rendering is left out (its cost does not grow with days);
- `ours`: the compared aggregates from Parquet with pandas and `reports.analysis` (the aggregates alone);
- `duckdb`: the same aggregates in SQL by DuckDB on the same Parquet files;
- `ours_store`: the same aggregates from the store through its read API (`daily_figures`, `day_verdicts`) and the
  registry: the read timed with them;
- `duckdb_store`: the same aggregates by DuckDB from its own database file, which holds the store's `daily` and
  `daily_verdicts` tables whole (every day and kind, as the store holds them) and the registry's schools, filtered
  to the period, the downloads and the policy in its SQL: its read timed with them.

The Parquet files are the period's download roll-ups and day verdicts, exported from the store once through its
read API, and the registry's schools; the DuckDB file is copied from the store once and kept beside it (DuckDB's
sqlite scanner is an extension this machine cannot download). Neither export is timed.
Aggregates: per-school median download over the period, compliance shares (schools, students) by region and by
locality, weighted Gini and Theil-T (with between/within parts by region and locality) of per-student bandwidth.
All four sides' aggregates are checked equal before any time is printed.

    nice python -m benchmarks.report --period month        # and --period year; --schools 200 --days 7 for a corner
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from collectors.simulator import LEAN
from core.schedule import Schedule
from core.verdict import Period

POLICY = "ministry"
SCHOOL_YEAR = Period(date(2025, 9, 1), date(2026, 5, 25))          # the 2025-2026 academic year of the calendar
MONTH = Period(date(2025, 10, 1), date(2025, 10, 30))
THIN = Schedule(latency_interval_seconds=3600, dns_interval_seconds=86400, http_interval_seconds=86400, platforms=())
GROUPINGS = ("region", "locality")


@dataclass(frozen=True)
class Aggregates:
    """The compared figures: medians (bit/s, by school_id), compliance shares (0-1), Gini and Theil-T parts."""

    medians: pd.Series                  # index school_id: median over days of the day's median download, bit/s
    compliance: pd.DataFrame            # index (grouping, group): school_share, student_share
    inequality: pd.Series               # gini, theil, theil_within_<g>, theil_between_<g>


def build_store(db: Path, schools: int, period: Period, schedule: Schedule, seed: int = 1) -> dict:
    """Simulate `period` for a synthetic national registry into a new SQLite store; returns what it took."""
    from collectors.fleet_upload import into_store
    from collectors.simulator import FleetSimulator
    from collectors.store import Store
    from core.norms import load_policy
    from core.school_calendar import SchoolCalendar
    from core.synthetic import generate_registry

    registry = generate_registry(schools, seed)
    registry.save(db.with_suffix(".csv"))
    store = Store(db)
    started = time.perf_counter()
    try:
        records = into_store(FleetSimulator(registry, SchoolCalendar.load(), seed, schedule), store, period.first,
                             (period.last - period.first).days + 1, [load_policy(POLICY)])
    finally:
        store.close()
    built = {"records": records, "build_seconds": time.perf_counter() - started, "built": str(period)}
    db.with_suffix(".json").write_text(json.dumps(built))
    return built


def extend_by_weeks(db: Path, block: Period, until: date) -> int:
    """Copy the roll-up rows of `block` (whole weeks) forward in steps of its length up to `until`; rows added."""
    import sqlite3

    length, added = (block.last - block.first).days + 1, 0
    assert length % 7 == 0, "whole weeks keep weekends on weekends"
    connection = sqlite3.connect(db)
    try:
        with connection:
            for shift in range(length, (until - block.first).days + 1, length):
                moved = f"date(day, '+{shift} days')"
                for table, rest in (("daily", "kind, samples, quarantined, failed, p10, median, p90, mean"),
                                    ("daily_verdicts", "policy, status")):
                    added += connection.execute(
                        f"INSERT INTO {table} SELECT school_id, {moved}, {rest} FROM {table} "
                        f"WHERE day BETWEEN ? AND ? AND {moved} <= ?",
                        (block.first.isoformat(), block.last.isoformat(), until.isoformat())).rowcount
    finally:
        connection.close()
    return added


def export(db: Path, period: Period, folder: Path) -> None:
    """The period's download roll-ups, ministry day verdicts and the registry's schools as Parquet in `folder`."""
    from collectors.store import Store
    from core.registry import load_registry
    from reports.analysis.schools import school_frame

    store = Store(db)
    try:
        store.daily_figures(period, ("download",)).to_parquet(folder / "daily.parquet")
        store.day_verdicts(POLICY, period).to_parquet(folder / "verdicts.parquet")
    finally:
        store.close()
    school_frame(load_registry(db.with_suffix(".csv"))).to_parquet(folder / "schools.parquet")


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
    """The compared figures from the schools (school_frame), download roll-ups and day verdicts, by `reports.analysis`."""
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
        return duckdb_aggregates(duck, {"daily": f"(SELECT * FROM daily WHERE {days} AND kind = 'download')",
                                        "verdicts": f"(SELECT * FROM daily_verdicts WHERE {days} AND policy = '{POLICY}')",
                                        "schools": "schools"})
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


def report_analysis(db: Path, period: Period) -> int:
    """The report's analysis as the command runs it (store read, both periods, every indicator); schools analysed."""
    from reports.build import ReportRequest, analyse_store

    request = ReportRequest(str(db), db.with_suffix(".csv"), period.first, period.last, Path(tempfile.gettempdir()),
                            policies=(POLICY,))
    return len(analyse_store(request).figures)


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


PHASES = {"ours": ours, "duckdb": by_duckdb}                     # on the Parquet export (a folder)
STORE_PHASES = {"report": report_analysis, "ours_store": ours_from_store, "duckdb_store": duckdb_from_store}


def measure(phase: str, *arguments: str) -> dict:
    """Run one phase in a fresh interpreter: its seconds (inside), its peak RSS (bytes, whole process), result."""
    with tempfile.NamedTemporaryFile(suffix=".pickle") as out:
        child = subprocess.Popen([sys.executable, "-m", "benchmarks.report", "--phase", phase, *arguments,
                                  "--result", out.name], env={**os.environ, "PYTHONPATH": str(_ROOT)})
        if child.wait() != 0:
            raise RuntimeError(f"phase {phase} failed with status {child.returncode}")
        return pickle.loads(Path(out.name).read_bytes())


def _phase(phase: str, arguments: list[str], result: Path) -> None:
    started = time.perf_counter()
    if phase in STORE_PHASES:
        value = STORE_PHASES[phase](Path(arguments[0]), Period(date.fromisoformat(arguments[1]),
                                                               date.fromisoformat(arguments[2])))
    else:
        value = PHASES[phase](Path(arguments[0]))
    seconds = time.perf_counter() - started
    # VmHWM: this process's own peak RSS (wait4's ru_maxrss would also carry the parent's, kept across exec).
    peak_kib = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmHWM:"))
    result.write_bytes(pickle.dumps({"seconds": seconds, "value": value, "peak_bytes": peak_kib * 1024}))


_ROOT = Path(__file__).resolve().parent.parent


def run(db: Path, period: Period) -> dict:
    """Export the period once (Parquet, and the store's tables into DuckDB), then the report's analysis, and the
    aggregates by us and by DuckDB on the Parquet files and from each one's store; checks they all agree."""
    to_duckdb(db)
    span = (str(db), period.first.isoformat(), period.last.isoformat())
    with tempfile.TemporaryDirectory(prefix="mektepnet-report-") as folder:
        export(db, period, Path(folder))
        rows = {"days": (period.last - period.first).days + 1,
                "daily_rows": len(pd.read_parquet(Path(folder) / "daily.parquet", columns=["school_id"])),
                "report": measure("report", *span), "ours": measure("ours", folder), "duckdb": measure("duckdb", folder),
                "ours_store": measure("ours_store", *span), "duckdb_store": measure("duckdb_store", *span)}
    mine = rows["ours"].pop("value")
    for side in ("duckdb", "ours_store", "duckdb_store"):
        wrong = differences(mine, rows[side].pop("value"))
        if wrong:
            raise SystemExit(f"ours and {side} disagree on: {', '.join(wrong)}")
    rows["schools"] = rows["report"].pop("value")
    built = db.with_suffix(".json")
    rows.update(json.loads(built.read_text()) if built.is_file() else {})
    return rows if rows.get("built", "").startswith(str(period.first)) else {**rows, "build_seconds": None}


def table(rows: list[dict]) -> str:
    """Markdown: the data, the store's build, the report's time and peak memory, then each comparison with DuckDB:
    the aggregates alone (both on the same Parquet files) and the read with them (each from its own store)."""
    lines = [("| period | schools | download roll-up rows | store built in | report analysis | its peak RSS | "
              "aggregates ours | DuckDB | ratio | peak RSS ours | DuckDB | ratio | "
              "read + aggregates ours | DuckDB | ratio | peak RSS ours | DuckDB |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        ours_row, duck, ours_store, duck_store = r["ours"], r["duckdb"], r["ours_store"], r["duckdb_store"]
        built = (f"{r['build_seconds'] / 60:.1f} min ({r['records']:,} records of {r['built']})"
                 if r.get("build_seconds") else f"(read from {r.get('built', 'a kept store')})")
        lines.append(f"| {r['days']} days | {r['schools']:,} | {r['daily_rows']:,} | {built} | "
                     f"{r['report']['seconds']:.1f} s | {_mib(r['report']['peak_bytes'])} | {ours_row['seconds']:.2f} s | "
                     f"{duck['seconds']:.2f} s | {ours_row['seconds'] / duck['seconds']:.2f} | "
                     f"{_mib(ours_row['peak_bytes'])} | {_mib(duck['peak_bytes'])} | "
                     f"{ours_row['peak_bytes'] / duck['peak_bytes']:.2f} | {ours_store['seconds']:.2f} s | "
                     f"{duck_store['seconds']:.2f} s | {ours_store['seconds'] / duck_store['seconds']:.2f} | "
                     f"{_mib(ours_store['peak_bytes'])} | {_mib(duck_store['peak_bytes'])} |")
    return "\n".join(lines)


def _mib(size: float) -> str:
    return f"{size / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; build the store if it is missing, measure, print the table and the load average."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", choices=("month", "year"), default="month")
    parser.add_argument("--schools", type=int, default=7500)
    parser.add_argument("--days", type=int, help="a shorter period from the period's first day (a corner)")
    parser.add_argument("--store", type=Path, help="the SQLite store to build or reuse (default: in /tmp)")
    parser.add_argument("--phase", choices=(*STORE_PHASES, *PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.phase:
        # Run as the module benchmarks.report, not __main__, so that the result unpickles as its Aggregates.
        importlib.import_module("benchmarks.report")._phase(args.phase, rest, args.result)
        return
    period = MONTH if args.period == "month" else SCHOOL_YEAR
    if args.days:
        period = Period(period.first, period.first + timedelta(days=args.days - 1))
    db = args.store or Path(tempfile.gettempdir()) / f"mektepnet-report-{args.schools}-{period.first}-{period.last}.sqlite3"
    if not db.is_file():
        print(f"building {db} ...", file=sys.stderr, flush=True)
        if args.period == "year" and not args.days:
            block = Period(period.first, period.first + timedelta(days=27))
            built = build_store(db, args.schools, block, THIN)
            built["built"] = f"{block}, copied to {period.last}"
            built["copied_rows"] = extend_by_weeks(db, block, period.last)
            db.with_suffix(".json").write_text(json.dumps(built))
        else:
            build_store(db, args.schools, period, LEAN)
    rows = run(db, period)
    print(table([rows]))
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
