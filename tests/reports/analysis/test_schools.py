"""The per-school table: measured download as a median of day medians, silent left out, unconnected as 0."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from core.norms import load_policy
from core.verdict import Period
from reports.analysis.inequality import weighted_gini
from reports.analysis.result import Inputs, PeriodData, analyse
from reports.analysis.schools import counted, school_figures
from tests.reports.analysis.conftest import MBIT, verdicts


def test_measured_silent_unconnected(schools, roll_ups) -> None:
    figures = school_figures(schools, roll_ups, verdicts([])).set_index("school_id")
    assert figures.loc["U1", "measured_download_bps"] == 50 * MBIT
    assert figures.loc["U1", "days_measured"] == 3
    assert figures.loc["R1", "per_student_bps"] == 7 * MBIT / 100
    assert figures.loc["R3", "state"] == "unconnected"
    assert figures.loc["R3", "measured_download_bps"] == 0 and figures.loc["R3", "per_student_bps"] == 0
    assert figures.loc["R3", "status"] == "below"
    assert figures.loc["S1", "state"] == "silent" and math.isnan(figures.loc["S1", "per_student_bps"])
    assert figures.loc["S1", "status"] == "no data"
    assert set(counted(figures.reset_index())["school_id"]) == {"U1", "U2", "R1", "R2", "R3"}


def test_period_status_is_the_majority_of_judged_days(schools, roll_ups) -> None:
    days = verdicts([("U1", "2027-03-01", "meets"), ("U1", "2027-03-02", "below"), ("U1", "2027-03-03", "meets"),
                     ("U2", "2027-03-01", "meets"), ("U2", "2027-03-02", "below"), ("U2", "2027-03-03", "no data"),
                     ("R1", "2027-03-01", "no data")])
    figures = school_figures(schools, roll_ups, days).set_index("school_id")
    assert figures.loc["U1", ["status", "days_meeting", "days_judged"]].tolist() == ["meets", 2, 3]
    assert figures.loc["U2", "status"] == "below"          # one of two judged days is not more than half
    assert figures.loc["R1", "status"] == "no data"


def test_gini_of_the_analysis_counts_unconnected_as_zero_and_leaves_silent_out(schools, roll_ups) -> None:
    result = analyse(Inputs(schools, (load_policy("ministry"),),
                            PeriodData(Period(date(2027, 3, 1), date(2027, 3, 3)), roll_ups, {})))
    # Per student: U1 50e6/500, U2 30e6/300, R1 7e6/100, R2 3e6/40, R3 0; weights 1000, 600, 200, 40, 100.
    values = [1e5, 1e5, 7e4, 7.5e4, 0.0]
    weights = [1000, 600, 200, 40, 100]
    assert result.gini == pytest.approx(weighted_gini(pd.Series(values), pd.Series(weights)))
    assert result.coverage.loc["all", ["schools_measured", "schools_silent", "schools_unconnected"]].tolist() == [4, 1, 1]
    assert result.gap.urban_download_bps == 40 * MBIT
    assert result.gap.rural_download_bps == 3 * MBIT              # median of 7, 3 and 0 Mbit/s
