"""The inequality report over a national month and a school year of roll-ups: time and peak memory against DuckDB.

The store is built once by the fleet simulator through the live roll-up path (`collectors.fleet_upload.into_store`,
judged under the ministry policy) and kept; the build time is printed. A national school year does not fit the
time this machine gives it (one simulated school day of 7,500 schools takes 16-20 s to insert and roll up, so
a year about 1.5 h), so `--period year` simulates the year's first four weeks on a thin schedule (throughput
tests and hourly latency trains, no DNS/HTTP: the download roll-ups and day verdicts the report reads are made
the same way, only the other kinds' rows are fewer) and copies their roll-up rows (`daily`, `daily_verdicts`)
forward in four-week steps to the year's last day: the year's rows have the right number and shape (weekdays
kept), not a year's weather. The month is read from the same store. Then, each in a
fresh process (time inside it, from after the libraries are imported; peak RSS of the whole process):

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
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from benchmarks.report_aggregates import (POLICY, by_duckdb, differences, duckdb_from_store, ours,
                                          ours_from_store, to_duckdb)
from collectors.simulator import LEAN
from core.schedule import Schedule
from core.verdict import Period

SCHOOL_YEAR = Period(date(2025, 9, 1), date(2026, 5, 25))          # the 2025-2026 academic year of the calendar
MONTH = Period(date(2025, 10, 1), date(2025, 10, 30))
THIN = Schedule(latency_interval_seconds=3600, dns_interval_seconds=86400, http_interval_seconds=86400, platforms=())


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


def report_analysis(db: Path, period: Period) -> int:
    """The report's analysis as the command runs it (store read, both periods, every indicator); schools analysed."""
    from reports.build import ReportRequest, analyse_store

    request = ReportRequest(str(db), db.with_suffix(".csv"), period.first, period.last, Path(tempfile.gettempdir()),
                            policies=(POLICY,))
    return len(analyse_store(request).figures)


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


# Every library any phase uses, imported before any timer starts: each side times its work, not its imports.
LIBRARIES = ("duckdb", "pyarrow.parquet", "collectors.store", "core.registry", "reports.build",
             "reports.analysis.compliance", "reports.analysis.inequality", "reports.analysis.schools")


def _phase(phase: str, arguments: list[str], result: Path) -> None:
    for library in LIBRARIES:
        importlib.import_module(library)
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
                "report": measure("report", *span), "ours": measure("ours", folder),
                "duckdb": measure("duckdb", folder),
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
             "| --- " + "| ---: " * 16 + "|"]
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
