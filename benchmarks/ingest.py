"""Collector ingest after a national outage, on SQLite and PostgreSQL, against the raw insert rate of the same rows.

For each engine: a collector (`mektepnet collector serve`, its own process) with the synthetic
registry; every school's probe is enrolled through the API; one school day of the fleet simulator's
records is encoded beforehand; then every school uploads at once (64 probes sending at a time,
batches of up to 500) and the drain is timed, with each acknowledgement's latency. The anchor is the
raw batched insert rate of the same rows (500 per transaction, the store's own row format and
indexes) into a fresh database of the same engine, measured in the same run; PostgreSQL runs with the
settings of deploy/postgresql/mektepnet.conf. Finally /metrics is
scraped five times with every school in the registry. Targets: drained in <= 3 minutes, >= 25 % of the
raw insert rate, /metrics in <= 1 s.

    python -m benchmarks.ingest                               # 7,500 schools, both engines
    python -m benchmarks.ingest --schools 300 --engines sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from collectors.fleet_upload import prepare, send_batches
from collectors.simulator import FleetSimulator
from collectors.store import Store, local_day, primary_value

from core.school_calendar import SchoolCalendar
from core.synthetic import generate_registry
from tests.helpers.collector import collector_process

RAW_SAMPLE_RECORDS = 200_000
PG_CONF = Path(__file__).resolve().parent.parent / "deploy" / "postgresql" / "mektepnet.conf"


def school_day(calendar: SchoolCalendar) -> date:
    """A recent Tuesday that is a school day (the verdict window does not matter here)."""
    day = date.today() - timedelta(days=1)
    while not (day.weekday() == 1 and calendar.is_school_day(day)):
        day -= timedelta(days=1)
    return day


def raw_insert_rate(url: str, simulator: FleetSimulator, day: date) -> float:
    """Rows/s of plain batched INSERTs (500 a transaction) of the simulator's rows into a fresh store's table."""
    rows, now = [], time.time()
    for school in simulator.registry:
        for m in simulator.day(school, day):
            rows.append((str(m.measurement_id), m.school_id, m.probe_id, m.kind.value, m.start.timestamp(),
                         m.end.timestamp(), m.clock_offset_seconds, 0, m.model_dump_json(), now, local_day(m),
                         primary_value(m), 0))
        if len(rows) >= RAW_SAMPLE_RECORDS:
            break
    store = Store(url)
    try:
        began = time.perf_counter()
        for start in range(0, len(rows), 500):
            store._db.begin()
            store._db.executemany("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                  rows[start:start + 500])
            store._db.execute("COMMIT")
        return len(rows) / (time.perf_counter() - began)
    finally:
        store.close()


def scrape_seconds(url: str, times: int = 5) -> float:
    """Median seconds of a full /metrics scrape."""
    durations = []
    for _ in range(times):
        began = time.perf_counter()
        urllib.request.urlopen(f"{url}/metrics", timeout=60).read()
        durations.append(time.perf_counter() - began)
    return statistics.median(durations)


def run_engine(engine: str, db: str, raw_db: str, registry_file: Path, simulator: FleetSimulator, day: date,
               concurrency: int, workers: int) -> dict:
    """One engine's drain, raw rate and scrape time."""
    process, url = collector_process(db, "--registry", str(registry_file), "--max-age", str(400 * 86400),
                                     "--ingest-workers", str(workers))
    try:
        probes, batches = prepare(simulator, url, db, day, 1)
        records = sum(count for school in batches.values() for count, _ in school)
        report = asyncio.run(send_batches(url, probes, batches, concurrency))
        scrape = scrape_seconds(url)
    finally:
        process.terminate()
        process.wait(30)
    raw = raw_insert_rate(raw_db, simulator, day)
    return {"engine": engine, "workers": workers, "records": records, "seconds": report.seconds, "rate": records / report.seconds,
            "raw_rate": raw, "p50": report.percentile(0.5), "p99": report.percentile(0.99),
            "refusals": report.refusals, "accepted": report.records["accepted"], "scrape": scrape,
            "schools": len(simulator.registry)}


def table(rows: list[dict]) -> str:
    """Markdown: drain, rates, their ratio, acknowledgement latency, scrape time."""
    lines = ["| engine | ingest workers | schools | records (one school day) | drained in | records/s | raw insert rows/s | "
             "ratio | ack p50 | ack p99 | refusals | /metrics scrape |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['engine']} | {r['workers']} | {r['schools']:,} | {r['records']:,} | {r['seconds']:.0f} s | {r['rate']:,.0f} | "
                     f"{r['raw_rate']:,.0f} | {r['rate'] / r['raw_rate']:.2f} | {r['p50'] * 1000:.0f} ms | "
                     f"{r['p99'] * 1000:.0f} ms | {r['refusals'] or 'none'} | {r['scrape']:.2f} s |")
    return "\n".join(lines)


def run(schools: int, engines: list[str], concurrency: int = 64, workers: int = 2) -> list[dict]:
    """Every engine asked for; PostgreSQL runs in a throw-away cluster."""
    calendar = SchoolCalendar.load()
    registry = generate_registry(schools, seed=1)
    workdir = Path(tempfile.mkdtemp(prefix="mektepnet-ingest-"))
    registry_file = workdir / "registry.csv"
    registry.save(registry_file)
    simulator = FleetSimulator(registry, calendar, seed=1)
    day = school_day(calendar)
    rows = []
    with ExitStack() as stack:
        for engine in engines:
            if engine == "sqlite":
                db, raw = str(workdir / "collector.sqlite3"), str(workdir / "raw.sqlite3")
            else:
                from tests.helpers.postgres import conf_settings, postgres_cluster

                cluster = stack.enter_context(postgres_cluster(durable=True, settings=conf_settings(PG_CONF)))
                db, raw = cluster.database(), cluster.database()
            rows.append(run_engine(engine, db, raw, registry_file, simulator, day, concurrency, workers))
            print(table(rows[-1:]), file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=7500)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--ingest-workers", type=int, default=2, help="the collector's worker processes")
    args = parser.parse_args(argv)
    print(table(run(args.schools, args.engines.split(","), args.concurrency, args.ingest_workers)))


if __name__ == "__main__":
    main()
