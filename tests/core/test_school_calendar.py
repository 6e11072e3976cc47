import os
import time
from datetime import date, datetime, timezone

import pytest

from core.school_calendar import DayKind, SchoolCalendar
from core.timezone import almaty
from tests.helpers.cli import FIXTURES, run_cli
from tests.helpers.tools import single_problem


def test_almaty_is_utc_plus_5_since_march_2024():
    assert datetime(2024, 6, 1, tzinfo=almaty()).utcoffset().total_seconds() == 5 * 3600
    assert datetime(2023, 6, 1, tzinfo=almaty()).utcoffset().total_seconds() == 6 * 3600


@pytest.mark.parametrize("day, kind, why", [
    (date(2026, 11, 23), DayKind.SCHOOL_DAY, "2026-2027"),
    (date(2026, 11, 21), DayKind.WEEKEND, "Saturday"),
    (date(2026, 10, 28), DayKind.BREAK, "autumn break"),
    (date(2026, 12, 16), DayKind.HOLIDAY, "Independence Day"),
    (date(2026, 3, 23), DayKind.HOLIDAY, "Nauryz"),
    # Nauryz 21 and 22 March 2026 fall on a weekend: the days off move to 24 and 25 March.
    (date(2026, 3, 24), DayKind.HOLIDAY, "Nauryz (moved from 2026-03-21)"),
    (date(2026, 3, 25), DayKind.HOLIDAY, "Nauryz (moved from 2026-03-22)"),
    (date(2026, 3, 9), DayKind.HOLIDAY, "International Women's Day (moved from 2026-03-08)"),
    (date(2026, 7, 1), DayKind.OUT_OF_TERM, "no academic year"),
])
def test_days_are_classified(calendar, day, kind, why):
    assert calendar.day_kind(day) == (kind, why)


def test_six_day_schools_study_on_saturday_but_not_on_a_holiday(calendar):
    assert calendar.is_school_day(date(2026, 11, 21), week_days=6)
    assert not calendar.is_school_day(date(2026, 11, 22), week_days=6)     # Sunday
    assert not calendar.is_school_day(date(2026, 12, 16), week_days=6)


def test_first_grade_break_keeps_the_school_open(calendar):
    assert calendar.is_school_day(date(2027, 2, 10))


def test_quarters_are_cut_at_the_breaks(calendar):
    assert calendar.quarter(date(2026, 9, 1)) == 1
    assert calendar.quarter(date(2026, 10, 25)) == 1
    assert calendar.quarter(date(2026, 10, 27)) is None
    assert calendar.quarter(date(2026, 11, 2)) == 2
    assert calendar.quarter(date(2027, 5, 25)) == 4


@pytest.mark.parametrize("host_zone", ["UTC", "America/Los_Angeles", "Asia/Tokyo"])
def test_school_hours_are_decided_in_almaty_whatever_the_host_zone(calendar, small_registry, host_zone):
    previous = os.environ.get("TZ")
    os.environ["TZ"] = host_zone
    time.tzset()
    try:
        school = small_registry["KZ-003"]                     # one shift 08:30-13:30
        # 03:30 UTC is 08:30 in Almaty: the first bell.
        assert calendar.in_school_hours(school, datetime(2026, 11, 23, 3, 30, tzinfo=timezone.utc))
        assert not calendar.in_school_hours(school, datetime(2026, 11, 23, 3, 29, tzinfo=timezone.utc))
        assert not calendar.in_school_hours(school, datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc))
        # 20:00 UTC on Sunday is 01:00 on Monday in Almaty: a school day, but not school hours.
        sunday_evening = datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)
        assert not calendar.in_school_hours(school, sunday_evening)
        hours = calendar.school_hours(school, date(2026, 11, 23))
        assert [(s.astimezone(timezone.utc).hour, s.astimezone(timezone.utc).minute) for s, _ in hours] == [(3, 30)]
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


def test_a_naive_time_is_refused(calendar, small_registry):
    with pytest.raises(ValueError, match="no time zone"):
        calendar.in_school_hours(small_registry["KZ-001"], datetime(2026, 11, 23, 9, 0))


@pytest.mark.parametrize("fixture, field, fragment", [
    ("break_ends_before_start.yaml", "academic_years.0.breaks.0", "ends on 2026-10-20 before it starts"),
    ("wrong_timezone.yaml", "timezone", "must be Asia/Almaty"),
    ("bad_holiday_date.yaml", "holidays.0.date", "must be MM-DD"),
    ("overlapping_years.yaml", "academic_years", "overlap"),
])
def test_a_bad_calendar_is_refused(fixture, field, fragment):
    problem = single_problem(SchoolCalendar.load, FIXTURES / "calendar" / fixture)
    assert problem.field == field
    assert fragment in problem.message


def test_the_calendar_command_lists_days_and_refuses_a_bad_file():
    shown = run_cli("calendar", "days", "--from", "2026-03-20", "--to", "2026-03-25")
    assert shown.returncode == 0
    assert "moved from 2026-03-21" in shown.stdout
    refused = run_cli("calendar", "validate", FIXTURES / "calendar" / "wrong_timezone.yaml")
    assert refused.returncode == 2
    assert "timezone='Asia/Tashkent'" in refused.stderr
