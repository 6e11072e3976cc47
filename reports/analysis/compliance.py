"""Compliance with each norms policy: share of schools and of students meeting it, by group.

A school's period status per policy comes from schools.period_status (day verdicts of `core.verdict`);
shares are of the schools with a status of "meets" or "below" (those with "no data" are counted apart).
"""

from __future__ import annotations

import pandas as pd

from reports.analysis.schools import BELOW, MEETS, NO_DATA, period_status


def statuses(figures: pd.DataFrame, verdicts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One status column per policy (index school_id): unconnected schools below, no verdict: no data."""
    frame = pd.DataFrame(index=figures["school_id"])
    unconnected = (figures["contracted_bps"] <= 0).to_numpy()
    for policy, days in verdicts.items():
        column = period_status(days)["status"].reindex(frame.index).fillna(NO_DATA)
        column[unconnected] = BELOW
        frame[policy] = column
    return frame


def compliance(figures: pd.DataFrame, by_policy: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per policy (and per value of `by`): schools meeting, below, without data; shares of schools and students.

    Columns: policy, [by], schools_meeting, schools_below, schools_no_data, students_meeting,
    students_judged, school_share, student_share (0-1; NaN when no school was judged).
    """
    rows = []
    base = figures.set_index("school_id")
    for policy in by_policy.columns:
        frame = base.assign(_status=by_policy[policy], _all="all")
        for group, part in frame.groupby(by or "_all", sort=True):
            meets, below = part["_status"] == MEETS, part["_status"] == BELOW
            judged = meets | below
            students_judged = int(part.loc[judged, "students"].sum())
            row = {"policy": policy, "schools_meeting": int(meets.sum()), "schools_below": int(below.sum()),
                   "schools_no_data": int((part["_status"] == NO_DATA).sum()),
                   "students_meeting": int(part.loc[meets, "students"].sum()), "students_judged": students_judged,
                   "school_share": meets.sum() / judged.sum() if judged.any() else float("nan"),
                   "student_share": part.loc[meets, "students"].sum() / students_judged if students_judged
                   else float("nan")}
            if by:
                row[by] = group
            rows.append(row)
    columns = ["policy", *([by] if by else []), "schools_meeting", "schools_below", "schools_no_data",
               "students_meeting", "students_judged", "school_share", "student_share"]
    return pd.DataFrame(rows, columns=columns)
