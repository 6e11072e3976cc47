"""Coverage: how many schools (and their students) were measured, silent or never connected, by group."""

from __future__ import annotations

import pandas as pd

from reports.analysis.schools import MEASURED, SILENT, UNCONNECTED

STATES = (MEASURED, SILENT, UNCONNECTED)


def coverage(figures: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Schools and students per state (measured, silent, unconnected), per value of `by` or for the country.

    Columns: schools, students, then schools_<state> and students_<state> for each state, and
    measured_share (measured schools / schools, 0-1). Groups with no school do not appear.
    """
    keys = [by] if by else []
    frame = figures.assign(_all="all") if not by else figures
    grouped = frame.groupby(keys or ["_all"], sort=True)
    table = pd.DataFrame({"schools": grouped.size(), "students": grouped["students"].sum()})
    for state in STATES:
        part = frame[frame["state"] == state].groupby(keys or ["_all"])
        table[f"schools_{state}"] = part.size().reindex(table.index, fill_value=0)
        table[f"students_{state}"] = part["students"].sum().reindex(table.index, fill_value=0)
    table["measured_share"] = table[f"schools_{MEASURED}"] / table["schools"]
    return table.astype({column: "int64" for column in table.columns if column != "measured_share"})


def silent_count(figures: pd.DataFrame) -> int:
    """How many connected schools sent no download result in the period."""
    return int((figures["state"] == SILENT).sum())
