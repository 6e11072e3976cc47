"""`mektepnet simulate`: synthetic measurement history of the national fleet, into a store or through the API."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer

from cli.common import console, parse_day, refuses_bad_input
from core.errors import CoreError

app = typer.Typer(no_args_is_help=True, help="Synthetic data for rehearsals and benchmarks (labelled synthetic).")


@app.command()
@refuses_bad_input
def fleet(
    registry: Path = typer.Option(..., "--registry", help="School registry (CSV/Parquet), e.g. from `registry generate`."),
    days: int = typer.Option(..., "--days", help="How many days of history (1-366)."),
    first: str = typer.Option(None, "--first", help="First day, YYYY-MM-DD (Asia/Almaty); default: DAYS days ago."),
    seed: int = typer.Option(1, "--seed", help="The same seed gives the same fleet and the same records."),
    lean: bool = typer.Option(False, "--lean", help="Hourly latency and 3-hourly DNS/HTTP (for long histories)."),
    db: str = typer.Option(..., "--db", help="The collector's store (SQLite file or postgresql:// URL)."),
    via_api: str = typer.Option(None, "--via-api", help="Collector URL: upload as concurrent probes instead of "
                                "writing the store directly (the store is used only to issue enrolment codes)."),
    concurrency: int = typer.Option(64, "--concurrency", help="Probes uploading at once (with --via-api)."),
    raw_days: int = typer.Option(None, "--raw-days", help="Store raw rows only for the last N days; the days before "
                                 "go in as daily roll-ups and day verdicts only (same code; default: every day raw)."),
    workers: int = typer.Option(1, "--workers", help="Processes sharing the schools (without --via-api)."),
    policy: str = typer.Option("ministry", "--policy", help="The norms the days are judged by, as the collector "
                               "would (a shipped policy name or a policy file; without --via-api)."),
) -> None:
    """Generate measurement history for every school of a registry and put it into the centre.

    Example: mektepnet simulate fleet --registry registry.csv --days 30 --db collector.sqlite3 --lean --raw-days 2
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from collectors.fleet_upload import into_store, via_api as upload_via_api
    from collectors.simulator import LEAN, FleetSimulator
    from collectors.store import Store
    from core.norms import load_policy
    from core.registry import load_registry
    from core.schedule import Schedule, records_per_school_day
    from core.school_calendar import SchoolCalendar

    if not 1 <= days <= 366:
        raise CoreError.one("command line", "--days", days, "must be between 1 and 366")
    if raw_days is not None and raw_days < 0:
        raise CoreError.one("command line", "--raw-days", raw_days, "must be 0 or more")
    if workers < 1:
        raise CoreError.one("command line", "--workers", workers, "must be at least 1")
    if concurrency < 1:
        raise CoreError.one("command line", "--concurrency", concurrency, "must be at least 1")
    start = parse_day(first, "--first") or date.today() - timedelta(days=days)
    schools = load_registry(registry)
    policies = [load_policy(policy)]
    schedule = LEAN if lean else Schedule()
    simulator = FleetSimulator(schools, SchoolCalendar.load(), seed, schedule)
    expected = int(len(schools) * days * sum(records_per_school_day(9 * 3600, schedule).values()) * 5 / 7)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console.real()) as progress:
        task = progress.add_task("records", total=expected)

        def advance(count: int) -> None:
            progress.update(task, advance=count, total=max(expected, progress.tasks[0].completed + count))

        if via_api:
            report = upload_via_api(simulator, via_api.rstrip("/"), db, start, days, concurrency, advance)
        else:
            store = Store(db)
            try:
                written = into_store(simulator, store, start, days, policies, on_progress=advance, raw_days=raw_days,
                                     workers=workers)
            finally:
                store.close()
        progress.update(task, total=progress.tasks[0].completed)       # the estimate was a guess; this is done
    if via_api:
        console.print(f"uploaded {sum(report.records.values()):,} records in {report.seconds:.1f} s "
                      f"({report.records}); acknowledgement p50 {report.percentile(0.5) * 1000:.0f} ms, "
                      f"p99 {report.percentile(0.99) * 1000:.0f} ms; refusals {report.refusals or 'none'}")
    else:
        console.print(f"wrote {written:,} synthetic records for {len(schools):,} schools, {start} + {days} days "
                      f"({len(simulator.silent)} silent probes)" + ("" if raw_days is None else
                      f"; raw rows for the last {raw_days} days, daily roll-ups and day verdicts only before"))
