"""`mektepnet calendar`: which days are school days, in Asia/Almaty, and checking a calendar file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, parse_day, refuses_bad_input
from core.errors import CoreError
from core.school_calendar import DayKind, SchoolCalendar

app = typer.Typer(no_args_is_help=True, help="The school calendar (Asia/Almaty): school days, breaks, holidays.")
MAX_DAYS = 400


@app.command()
@refuses_bad_input
def days(
    first: str = typer.Option(..., "--from", help="First local date, YYYY-MM-DD."),
    last: str = typer.Option(None, "--to", help="Last local date (default: 14 days on)."),
    week_days: int = typer.Option(5, "--week-days", help="5- or 6-day school week."),
    calendar: Path = typer.Option(None, "--calendar", help="Calendar YAML. Default: the shipped one."),
) -> None:
    """List each date's kind: school day, weekend, holiday, break or out of term, and its quarter.

    Example: mektepnet calendar days --from 2027-03-16 --to 2027-03-31
    """
    if week_days not in (5, 6):
        raise CoreError.one("command line", "--week-days", week_days, "must be 5 or 6")
    start = parse_day(first, "--from")
    end = parse_day(last, "--to") or start + timedelta(days=13)
    if end < start or (end - start).days > MAX_DAYS:
        raise CoreError.one("command line", "--to", str(end), f"must be on or after --from and within {MAX_DAYS} days")
    school_calendar = SchoolCalendar.load(calendar)
    table = Table(title=f"School calendar, {week_days}-day week (Asia/Almaty)")
    for column in ("date", "day", "kind", "why", "quarter"):
        table.add_column(column)
    day = start
    while day <= end:
        kind, why = school_calendar.day_kind(day, week_days)
        style = "green" if kind is DayKind.SCHOOL_DAY else "dim"
        quarter = school_calendar.quarter(day)
        table.add_row(day.isoformat(), day.strftime("%a"), f"[{style}]{kind.value}[/]", why,
                      str(quarter) if quarter else "-")
        day += timedelta(days=1)
    console.print(table)


@app.command()
@refuses_bad_input
def validate(path: Path = typer.Argument(..., help="Calendar YAML file.")) -> None:
    """Check a calendar file; print every problem (field, value) and exit 2 if any.

    Example: mektepnet calendar validate my-calendar.yaml
    """
    school_calendar = SchoolCalendar.load(path)
    years = ", ".join(f"{y.name} ({y.status})" for y in school_calendar.spec.academic_years)
    console.print(f"{path}: valid; academic years {years}")
