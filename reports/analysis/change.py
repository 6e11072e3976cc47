"""Change since the previous period, over the schools measured in both periods only."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reports.analysis.inequality import weighted_gini
from reports.analysis.schools import MEASURED, MEETS


@dataclass(frozen=True)
class Change:
    """Both periods over the same schools: medians (bit/s per student), Gini, schools meeting the policy."""

    schools: int                   # measured in both periods
    per_student_before_bps: float
    per_student_now_bps: float
    gini_before: float
    gini_now: float
    meeting_before: int
    meeting_now: int


def change(now: pd.DataFrame, before: pd.DataFrame) -> Change:
    """Compare two per-school tables (schools.school_figures) over the schools measured in both."""
    both = now[now["state"] == MEASURED].merge(before[before["state"] == MEASURED], on="school_id",
                                               suffixes=("", "_before"))
    return Change(len(both), float(both["per_student_bps_before"].median()), float(both["per_student_bps"].median()),
                  weighted_gini(both["per_student_bps_before"], both["students"]),
                  weighted_gini(both["per_student_bps"], both["students"]),
                  int((both["status_before"] == MEETS).sum()), int((both["status"] == MEETS).sum()))


def daily_trend(daily: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Per day and locality: the median of the schools' day-median download (bit/s) and schools measured."""
    wanted = (daily["kind"] == "download").to_numpy() & daily["median"].notna().to_numpy()
    downloads = daily.loc[wanted, ["day", "school_id", "median"]]
    data = downloads.merge(schools[["school_id", "locality"]], on="school_id")
    grouped = data.groupby(["day", "locality"], sort=True)["median"]
    return pd.DataFrame({"download_median_bps": grouped.median(), "schools": grouped.size()}).reset_index()
