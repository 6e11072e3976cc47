"""The school calendar: academic years, quarters, breaks, public holidays and school hours, in Asia/Almaty."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config import load_yaml_model
from core.school import School
from core.timezone import ZONE_NAME, almaty, to_local

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class DayKind(StrEnum):
    """What a local date is for a school."""

    SCHOOL_DAY = "school day"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    BREAK = "break"
    OUT_OF_TERM = "out of term"


class Holiday(BaseModel):
    """A public day off every year on a month-day ('03-21'); `moves` to the next working day off a weekend."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    date: str
    name: str
    moves: bool = True

    @field_validator("date")
    @classmethod
    def _month_day(cls, value: str) -> str:
        match = _MONTH_DAY.match(value)
        if not match:
            raise ValueError("must be MM-DD, e.g. '03-21'")
        date(2024, int(match.group(1)), int(match.group(2)))  # raises on 02-30 etc. (2024 is a leap year)
        return value

    def on(self, year: int) -> date | None:
        """The holiday's date in `year` (None for 02-29 outside leap years)."""
        month, day = (int(part) for part in self.date.split("-"))
        try:
            return date(year, month, day)
        except ValueError:
            return None


class DatedHoliday(BaseModel):
    """A public day off on one given date (holidays of the lunar calendar)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    date: date
    name: str


class Break(BaseModel):
    """A school break, inclusive dates; with `grades`, only those grades are off (the school stays open)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    start: date
    end: date
    grades: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> "Break":
        if self.end < self.start:
            raise ValueError(f"break {self.name!r} ends on {self.end} before it starts on {self.start}")
        return self


class AcademicYear(BaseModel):
    """One academic year: first and last school day (inclusive) and its breaks."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    status: str = Field(pattern="^(published|provisional)$")
    start: date
    end: date
    breaks: tuple[Break, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "AcademicYear":
        if self.end <= self.start:
            raise ValueError(f"academic year {self.name!r} ends on {self.end} before it starts on {self.start}")
        for item in self.breaks:
            if item.start < self.start or item.end > self.end:
                raise ValueError(f"break {item.name!r} ({item.start}..{item.end}) lies outside the year")
        return self

    @property
    def whole_school_breaks(self) -> tuple[Break, ...]:
        """Breaks for every grade, in date order."""
        return tuple(sorted((b for b in self.breaks if not b.grades), key=lambda b: b.start))

    def quarters(self) -> tuple[tuple[date, date], ...]:
        """Each quarter's (first, last) date: the year cut at its whole-school breaks."""
        quarters, first = [], self.start
        for item in self.whole_school_breaks:
            quarters.append((first, item.start - timedelta(days=1)))
            first = item.end + timedelta(days=1)
        quarters.append((first, self.end))
        return tuple(quarters)


class CalendarFile(BaseModel):
    """The calendar YAML file as written."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    timezone: str
    holidays: tuple[Holiday, ...] = ()
    dated_holidays: tuple[DatedHoliday, ...] = ()
    extra_days_off: tuple[date, ...] = ()
    extra_working_days: tuple[date, ...] = ()
    academic_years: tuple[AcademicYear, ...]

    @field_validator("timezone")
    @classmethod
    def _almaty(cls, value: str) -> str:
        if value != ZONE_NAME:
            raise ValueError(f"must be {ZONE_NAME}: every school day in Kazakhstan is evaluated in it")
        return value

    @field_validator("academic_years")
    @classmethod
    def _not_overlapping(cls, years: tuple[AcademicYear, ...]) -> tuple[AcademicYear, ...]:
        if not years:
            raise ValueError("at least one academic year is required")
        ordered = tuple(sorted(years, key=lambda year: year.start))
        for earlier, later in zip(ordered, ordered[1:]):
            if later.start <= earlier.end:
                raise ValueError(f"academic years {earlier.name} and {later.name} overlap")
        return ordered


class SchoolCalendar:
    """Answers 'is this a school day / a school hour' for a school, always in Asia/Almaty."""

    def __init__(self, spec: CalendarFile):
        self.spec = spec

    @classmethod
    def load(cls, path: str | Path | None = None) -> "SchoolCalendar":
        """Load a calendar file; without a path, the calendar shipped with MektepNet."""
        if path is None:
            with resources.as_file(resources.files("core.data").joinpath("calendar.yaml")) as shipped:
                return cls(load_yaml_model(shipped, CalendarFile))
        return cls(load_yaml_model(path, CalendarFile))

    @cached_property
    def _days_off(self) -> dict[date, str]:
        """Every public day off in the calendar's years, after weekend transfers."""
        years = {y for ay in self.spec.academic_years for y in (ay.start.year, ay.end.year)}
        days: dict[date, str] = {h.date: h.name for h in self.spec.dated_holidays}
        moving: list[tuple[date, str]] = []
        for year in sorted(years):
            for holiday in self.spec.holidays:
                day = holiday.on(year)
                if day is not None:
                    days.setdefault(day, holiday.name)
                    if holiday.moves and day.weekday() >= 5:
                        moving.append((day, holiday.name))
        # Transfers are placed after every holiday is known, so a moved day never lands on another holiday.
        for day, name in sorted(moving):
            moved = day + timedelta(days=7 - day.weekday())
            while moved in days:
                moved += timedelta(days=1)
            days[moved] = f"{name} (moved from {day})"
        for day in self.spec.extra_days_off:
            days.setdefault(day, "day off by decree")
        for day in self.spec.extra_working_days:
            days.pop(day, None)
        return days

    def academic_year(self, day: date) -> AcademicYear | None:
        """The academic year containing `day`, if any."""
        for year in self.spec.academic_years:
            if year.start <= day <= year.end:
                return year
        return None

    def day_kind(self, day: date, week_days: int = 5) -> tuple[DayKind, str]:
        """Classify a local date for a school with a 5- or 6-day week; the second item names why."""
        year = self.academic_year(day)
        if year is None:
            return DayKind.OUT_OF_TERM, "no academic year"
        if day in self._days_off:
            return DayKind.HOLIDAY, self._days_off[day]
        for item in year.whole_school_breaks:
            if item.start <= day <= item.end:
                return DayKind.BREAK, f"{item.name} break"
        if day.weekday() >= week_days and day not in self.spec.extra_working_days:
            return DayKind.WEEKEND, day.strftime("%A")
        return DayKind.SCHOOL_DAY, year.name

    def is_school_day(self, day: date, week_days: int = 5) -> bool:
        """True when `day` (a local date) is a school day for a school with that many days a week."""
        return self.day_kind(day, week_days)[0] is DayKind.SCHOOL_DAY

    def quarter(self, day: date) -> int | None:
        """The quarter (1-4) that `day` falls in, or None in breaks and out of term."""
        year = self.academic_year(day)
        if year is None:
            return None
        for number, (first, last) in enumerate(year.quarters(), start=1):
            if first <= day <= last:
                return number
        return None

    def in_school_hours(self, school: School, instant: datetime) -> bool:
        """True when `instant` (timezone-aware) is inside one of the school's shifts on a school day."""
        local = to_local(instant)
        if not self.is_school_day(local.date(), school.week_days):
            return False
        clock = local.time()
        return any(shift.start <= clock < shift.end for shift in school.shifts)

    def school_hours(self, school: School, day: date) -> list[tuple[datetime, datetime]]:
        """The school's shifts on a local date as timezone-aware (start, end) pairs; empty if no school."""
        if not self.is_school_day(day, school.week_days):
            return []
        zone = almaty()
        return [(datetime.combine(day, shift.start, zone), datetime.combine(day, shift.end, zone))
                for shift in school.shifts]
