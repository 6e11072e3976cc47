"""Compliance shares of schools and of students, and coverage counts, on the fixture."""

from __future__ import annotations

import pytest

from reports.analysis.compliance import compliance, statuses
from reports.analysis.coverage import coverage
from reports.analysis.schools import school_figures
from tests.reports.analysis.conftest import verdicts

DAYS = verdicts([("U1", "2027-03-01", "meets"), ("U1", "2027-03-02", "meets"), ("U1", "2027-03-03", "below"),
                 ("U2", "2027-03-01", "below"), ("R1", "2027-03-01", "meets"), ("R2", "2027-03-01", "no data")])


def test_shares_of_schools_and_students(schools, roll_ups) -> None:
    figures = school_figures(schools, roll_ups, DAYS)
    by_policy = statuses(figures, {"ministry": DAYS})
    # Meets: U1, R1. Below: U2, R3 (unconnected). No data: R2 (only a no-data day), S1 (silent).
    row = compliance(figures, by_policy).iloc[0]
    assert row[["schools_meeting", "schools_below", "schools_no_data"]].tolist() == [2, 2, 2]
    assert row["school_share"] == pytest.approx(0.5)
    assert row["students_meeting"] == 1200 and row["students_judged"] == 1900
    assert row["student_share"] == pytest.approx(1200 / 1900)
    by_region = compliance(figures, by_policy, "region").set_index("region")
    assert by_region.loc["almaty", "school_share"] == pytest.approx(0.5)
    assert by_region.loc["turkistan", ["schools_meeting", "schools_below", "schools_no_data"]].tolist() == [1, 1, 2]


def test_coverage_counts_schools_and_students_per_state(schools, roll_ups) -> None:
    table = coverage(school_figures(schools, roll_ups, DAYS), "locality")
    rural = table.loc["rural"]
    assert rural[["schools", "schools_measured", "schools_silent", "schools_unconnected"]].tolist() == [4, 2, 1, 1]
    assert rural[["students_measured", "students_silent", "students_unconnected"]].tolist() == [240, 300, 100]
    assert table.loc["urban", "measured_share"] == 1.0
