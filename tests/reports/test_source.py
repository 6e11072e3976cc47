"""What the report reads: download roll-ups on each school's own school days only."""

from __future__ import annotations

from datetime import date

import pandas as pd

from reports.source import school_days_only


def test_weekends_and_holidays_leave_the_measured_download_but_a_six_day_school_keeps_its_saturday(
        small_registry, calendar):
    friday, saturday, nauryz = date(2027, 3, 12), date(2027, 3, 13), date(2027, 3, 22)
    assert calendar.is_school_day(friday) and not calendar.is_school_day(saturday)
    assert calendar.is_school_day(saturday, 6) and not calendar.is_school_day(nauryz, 6)
    rows = [(day, school, "download", 8e6) for day in (friday, saturday, nauryz) for school in ("KZ-001", "KZ-002")]
    daily = pd.DataFrame(rows, columns=["day", "school_id", "kind", "median"])
    daily["day"] = pd.to_datetime(daily["day"])
    kept = school_days_only(daily, small_registry, calendar)
    assert small_registry["KZ-001"].week_days == 5 and small_registry["KZ-002"].week_days == 6
    assert sorted((row.school_id, row.day.date()) for row in kept.itertuples()) == [
        ("KZ-001", friday), ("KZ-002", friday), ("KZ-002", saturday)]
