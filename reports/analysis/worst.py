"""The worst districts and schools by per-student bandwidth, with contracted against measured speed."""

from __future__ import annotations

import pandas as pd

from reports.analysis.inequality import weighted_mean
from reports.analysis.schools import BELOW, counted


def worst_schools(figures: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The `count` counted schools with the lowest per-student bandwidth (ties: more students first)."""
    data = counted(figures).sort_values(["per_student_bps", "students", "school_id"], ascending=[True, False, True])
    return data.head(count)[["school_id", "name", "region", "district", "locality", "students",
                             "busiest_shift_students", "contracted_bps", "measured_download_bps", "delivered_ratio",
                             "per_student_bps"]].reset_index(drop=True)


def worst_districts(figures: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The `count` districts with the lowest student-weighted mean per-student bandwidth (bit/s).

    Columns: region, district, schools, students, per_student_bps, contracted_bps and measured_download_bps
    (sums over the district's counted schools), delivered_ratio (measured / contracted), schools_below.
    """
    rows = []
    for (region, district), part in counted(figures).groupby(["region", "district"], sort=True):
        contracted = float(part["contracted_bps"].sum())
        measured = float(part["measured_download_bps"].sum())
        rows.append({"region": region, "district": district, "schools": len(part),
                     "students": int(part["students"].sum()),
                     "per_student_bps": weighted_mean(part["per_student_bps"], part["students"]),
                     "contracted_bps": contracted, "measured_download_bps": measured,
                     "delivered_ratio": measured / contracted if contracted > 0 else float("nan"),
                     "schools_below": int((part["status"] == BELOW).sum())})
    table = pd.DataFrame(rows, columns=["region", "district", "schools", "students", "per_student_bps",
                                        "contracted_bps", "measured_download_bps", "delivered_ratio", "schools_below"])
    return table.sort_values(["per_student_bps", "students"], ascending=[True, False]).head(count).reset_index(drop=True)
