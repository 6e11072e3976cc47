"""`mektepnet registry`: generate a synthetic national registry, validate a registry, print its totals."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, refuses_bad_input
from core.errors import CoreError
from core.registry import load_registry
from core.schedule import Schedule
from core.summary import RegistrySummary, Totals, region_name, summarise_registry
from core.synthetic import generate_registry
from core.units import format_bit_rate

app = typer.Typer(no_args_is_help=True, help="The school registry: generate, validate, summarise.")


@app.command()
@refuses_bad_input
def generate(
    schools: int = typer.Option(7500, "--schools", help="How many schools."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same registry."),
    out: Path = typer.Option(..., "--out", help="Output file: .csv or .parquet."),
) -> None:
    """Write a SYNTHETIC national registry whose shape follows the public figures.

    Example: mektepnet registry generate --schools 7500 --seed 1 --out registry.csv
    """
    if schools < 1:
        raise CoreError.one("command line", "--schools", schools, "must be at least 1")
    if out.suffix not in (".csv", ".parquet"):
        raise CoreError.one("command line", "--out", str(out), "must end in .csv or .parquet")
    with console.status(f"generating {schools} synthetic schools"):
        registry = generate_registry(schools, seed)
        registry.save(out)
    console.print(f"wrote {len(registry)} synthetic schools to {out}")


@app.command()
@refuses_bad_input
def validate(path: Path = typer.Argument(..., help="Registry file (.csv or .parquet).")) -> None:
    """Check a registry file; print every bad row (file, row, field, value) and exit 2 if any.

    Example: mektepnet registry validate registry.csv
    """
    registry = load_registry(path)
    kind = "synthetic" if registry.synthetic else "real"
    console.print(f"{path}: {len(registry)} schools, valid ({kind} registry)")


@app.command()
@refuses_bad_input
def summary(
    path: Path = typer.Argument(..., help="Registry file (.csv or .parquet)."),
    language: str = typer.Option("en", "--lang", help="Region names in en, ru or kk."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Print totals by region and locality, and the records per school day the probes will send.

    Example: mektepnet registry summary registry.csv --lang ru
    """
    if language not in ("en", "ru", "kk"):
        raise CoreError.one("command line", "--lang", language, "must be en, ru or kk")
    registry = load_registry(path)
    result = summarise_registry(registry)
    if as_json:
        console.print_json(json.dumps(_as_json(result)))
        return
    if registry.synthetic:
        console.print("[yellow]SYNTHETIC registry: not real schools[/yellow]")
    console.print(_region_table(result, language))
    console.print(_volume_table(result))


_COLUMNS = ("schools", "ungraded", "students", "busiest_shift_students", "teachers", "two_or_more_shifts")


def _region_table(result: RegistrySummary, language: str) -> Table:
    table = Table(title="Schools by region and locality", show_footer=True)
    table.add_column("region", footer="Kazakhstan")
    table.add_column("locality", footer="all")
    for column in _COLUMNS:
        table.add_column(column.replace("_", " "), justify="right", no_wrap=True,
                         footer=f"{getattr(result.country, column):,}")
    table.add_column("mean contract", justify="right", no_wrap=True, footer=_mean_contract(result.country))
    rows = [(region_name(code, language), locality, totals) for (code, locality), totals in result.by_region.items()]
    rows += [("all regions", locality, totals) for locality, totals in sorted(result.by_locality.items())]
    for region, locality, totals in rows:
        table.add_row(region, locality, *(f"{getattr(totals, c):,}" for c in _COLUMNS), _mean_contract(totals))
    return table


def _volume_table(result: RegistrySummary) -> Table:
    schedule = Schedule()
    table = Table(title=f"Expected records per school day (one probe per school, default schedule: latency "
                        f"every {schedule.latency_interval_seconds:.0f} s, DNS and HTTP every "
                        f"{schedule.http_interval_seconds:.0f} s x {len(schedule.platforms)} platforms, "
                        f"{schedule.daytime_throughput_tests}+{schedule.night_throughput_tests} throughput tests)")
    table.add_column("kind")
    table.add_column("records / day, country", justify="right")
    table.add_column("per school (mean)", justify="right")
    schools = max(result.country.schools, 1)
    for kind, count in result.records_by_kind.items():
        table.add_row(kind.value, f"{count:,.0f}", f"{count / schools:,.1f}")
    total = result.country.records_per_day
    table.add_row("all", f"{total:,.0f}", f"{total / schools:,.1f}", style="bold")
    return table


def _mean_contract(totals: Totals) -> str:
    return format_bit_rate(totals.contracted_bps / totals.schools) if totals.schools else "-"


def _as_json(result: RegistrySummary) -> dict:
    def plain(totals: Totals) -> dict:
        return {name: getattr(totals, name) for name in Totals.__dataclass_fields__}

    return {
        "country": plain(result.country),
        "by_locality": {locality: plain(t) for locality, t in result.by_locality.items()},
        "by_region": [{"region": code, "locality": locality, **plain(t)}
                      for (code, locality), t in result.by_region.items()],
        "records_per_school_day": {kind.value: count for kind, count in result.records_by_kind.items()},
    }
