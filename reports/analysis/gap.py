"""The urban / rural gap: medians of measured download and per-student bandwidth per category, and their ratio."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reports.analysis.schools import counted


@dataclass(frozen=True)
class Gap:
    """Rural against urban: medians over schools (bit/s; silent left out, unconnected as 0) and urban / rural."""

    urban_download_bps: float
    rural_download_bps: float
    download_ratio: float          # urban median / rural median (NaN when the rural median is 0)
    urban_per_student_bps: float
    rural_per_student_bps: float
    per_student_ratio: float


def medians(figures: pd.DataFrame, by: str = "locality") -> pd.DataFrame:
    """Per value of `by`: schools counted and the median measured download and per-student bandwidth (bit/s)."""
    data = counted(figures)
    grouped = data.groupby(by, sort=True)
    return pd.DataFrame({"schools": grouped.size(), "download_median_bps": grouped["measured_download_bps"].median(),
                         "per_student_median_bps": grouped["per_student_bps"].median()})


def gap(figures: pd.DataFrame) -> Gap:
    """The urban / rural gap of medians (by locality)."""
    table = medians(figures).reindex(["urban", "rural"])
    urban, rural = table.loc["urban"], table.loc["rural"]

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    return Gap(float(urban["download_median_bps"]), float(rural["download_median_bps"]),
               ratio(urban["download_median_bps"], rural["download_median_bps"]),
               float(urban["per_student_median_bps"]), float(rural["per_student_median_bps"]),
               ratio(urban["per_student_median_bps"], rural["per_student_median_bps"]))
