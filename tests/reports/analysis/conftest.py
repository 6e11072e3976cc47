"""Small hand-made schools, roll-ups and verdicts whose indicators are counted by hand in the tests."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.analysis.schools import SCHOOL_COLUMNS

MBIT = 1e6


def school(school_id: str, region: str, locality: str, students: int, busiest: int, contracted_bps: float,
           category: str | None = None, computers: int = 10) -> dict:
    """One registry row (district = region + '-d', coordinates fixed)."""
    return {"school_id": school_id, "name": f"School {school_id}", "region": region, "district": f"{region}-d",
            "locality": locality, "category": category or locality, "students": students,
            "busiest_shift_students": busiest, "computers": computers, "latitude": 43.2, "longitude": 76.9,
            "isp": "kt", "contracted_bps": contracted_bps}


def daily(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Roll-up rows (school_id, day, median bit/s) of kind download."""
    return pd.DataFrame([{"day": pd.Timestamp(day), "school_id": sid, "kind": "download", "samples": 4,
                          "median": median} for sid, day, median in rows])


def verdicts(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Day verdicts (school_id, day, status)."""
    return pd.DataFrame([{"day": pd.Timestamp(day), "school_id": sid, "status": status} for sid, day, status in rows],
                        columns=["day", "school_id", "status"])


@pytest.fixture
def schools() -> pd.DataFrame:
    """Five schools: two urban in Almaty, two rural (one ungraded) in Turkistan, one unconnected rural, one silent."""
    return pd.DataFrame([
        school("U1", "almaty", "urban", 1000, 500, 100 * MBIT),
        school("U2", "almaty", "urban", 600, 300, 50 * MBIT),
        school("R1", "turkistan", "rural", 200, 100, 10 * MBIT),
        school("R2", "turkistan", "rural", 40, 40, 4 * MBIT, category="ungraded"),
        school("R3", "turkistan", "rural", 100, 100, 0.0),
        school("S1", "turkistan", "rural", 300, 150, 10 * MBIT),
    ], columns=list(SCHOOL_COLUMNS))


@pytest.fixture
def roll_ups() -> pd.DataFrame:
    """U1 measured 60, 40, 50 -> 50 Mbit/s; U2 30 -> 30; R1 8, 6 -> 7; R2 3 -> 3; R3 and S1 nothing."""
    return daily([("U1", "2027-03-01", 60 * MBIT), ("U1", "2027-03-02", 40 * MBIT), ("U1", "2027-03-03", 50 * MBIT),
                  ("U2", "2027-03-01", 30 * MBIT), ("R1", "2027-03-01", 8 * MBIT), ("R1", "2027-03-02", 6 * MBIT),
                  ("R2", "2027-03-01", 3 * MBIT)])
