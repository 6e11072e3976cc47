"""Video lessons at once, computers per student, the worst schools and districts, change between periods."""

from __future__ import annotations

import pytest

from reports.analysis.capacity import capacity
from reports.analysis.change import change
from reports.analysis.schools import school_figures
from reports.analysis.worst import worst_districts, worst_schools
from tests.reports.analysis.conftest import MBIT, daily, verdicts


@pytest.fixture
def figures(schools, roll_ups):
    return school_figures(schools, roll_ups, verdicts([]))


def test_video_lessons_and_computers(figures) -> None:
    table = capacity(figures, "locality")
    # 1.5 Mbit/s streams: U1 50 -> 33, U2 30 -> 20; R1 7 -> 4, R2 3 -> 2, R3 0 -> 0 (S1 silent, left out).
    assert table.loc["urban", "video_lessons_median"] == 26.5
    assert table.loc["rural", "video_lessons_median"] == 2
    assert table.loc["rural", "schools_without_video"] == 1
    # Ten computers per school; rural students 200 + 40 + 100 + 300 (the silent school has its computers).
    assert table.loc["rural", "computers_per_student"] == pytest.approx(40 / 640)
    assert table.loc["urban", "computers_per_shift_student"] == pytest.approx(20 / 800)


def test_worst_schools_and_districts(figures) -> None:
    assert worst_schools(figures)["school_id"].tolist() == ["R3", "R1", "R2", "U1", "U2"]
    districts = worst_districts(figures)
    assert districts["district"].tolist() == ["turkistan-d", "almaty-d"]
    turkistan = districts.iloc[0]
    assert turkistan["contracted_bps"] == 14 * MBIT and turkistan["measured_download_bps"] == 10 * MBIT
    assert turkistan["per_student_bps"] == pytest.approx((7e4 * 200 + 7.5e4 * 40 + 0 * 100) / 340)


def test_change_over_schools_measured_in_both(schools, figures) -> None:
    before = school_figures(schools, daily([("U1", "2027-02-01", 25 * MBIT), ("R1", "2027-02-01", 7 * MBIT),
                                            ("S1", "2027-02-01", 9 * MBIT)]), verdicts([]))
    result = change(figures, before)
    assert result.schools == 2                               # U1 and R1 (S1 silent now, U2 and R2 not before)
    assert result.per_student_before_bps == pytest.approx((5e4 + 7e4) / 2)
    assert result.per_student_now_bps == pytest.approx((1e5 + 7e4) / 2)
