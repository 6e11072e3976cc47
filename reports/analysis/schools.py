"""The per-school table every indicator starts from: registry facts, the measured download, per-student bandwidth.

Definitions (the methods section of the report states them in the reader's language):
- a school is **unconnected** when the registry gives it no contract (`contracted_bps` = 0); its
  bandwidth counts as 0 bit/s and it is below every norm;
- a connected school is **silent** when the period holds no day with a successful download result;
  silent schools are left out of bandwidth figures and counted apart, never treated as 0;
- the **measured download** of a school is the median, over the days of the period that have one, of
  the day's median ndt7 download (the daily roll-up's `median` of kind `download`: every trusted result of the
  local day, the night test included; not a school-hours figure, the day verdicts are), in bit/s;
- the **per-student bandwidth** is the measured download divided by the students of the busiest shift
  (at least 1), in bit/s per student;
- a school's **period status** under a policy is "meets" when it met the policy on more than half of its
  judged days (days whose day verdict is "meets" or "below"), "below" when it did not, "no data"
  when it has no judged day; an unconnected school is "below".
"""

from __future__ import annotations

import pandas as pd

from core.registry import Registry

MEASURED, SILENT, UNCONNECTED = "measured", "silent", "unconnected"
MEETS, BELOW, NO_DATA = "meets", "below", "no data"

SCHOOL_COLUMNS = ("school_id", "name", "region", "district", "locality", "category", "students",
                  "busiest_shift_students", "computers", "latitude", "longitude", "isp", "contracted_bps")


def school_frame(registry: Registry) -> pd.DataFrame:
    """The registry as the analysis reads it: one row per school, the category included (speeds in bit/s)."""
    rows = [{"school_id": s.school_id, "name": s.name, "region": s.region, "district": s.district,
             "locality": s.locality.value, "category": s.category.value, "students": s.students,
             "busiest_shift_students": s.busiest_shift_students, "computers": s.computers,
             "latitude": s.latitude, "longitude": s.longitude, "isp": s.isp, "contracted_bps": s.contracted_bps}
            for s in registry]
    return pd.DataFrame(rows, columns=list(SCHOOL_COLUMNS))


def measured_download(daily: pd.DataFrame) -> pd.DataFrame:
    """Per school: the median over days of the day's median download (bit/s) and the days it rests on.

    `daily` holds the roll-up rows (day, school_id, kind, median); rows of other kinds are ignored.
    """
    wanted = (daily["kind"] == "download").to_numpy() & daily["median"].notna().to_numpy()
    grouped = daily.loc[wanted, ["school_id", "median"]].groupby("school_id")["median"]   # two columns copied, not all
    return pd.DataFrame({"measured_download_bps": grouped.median(), "days_measured": grouped.size()})


def period_status(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per school: its period status from day verdicts (day, school_id, status), with days meeting and judged."""
    judged = verdicts.loc[verdicts["status"].isin([MEETS, BELOW]).to_numpy(), ["school_id", "status"]].assign(
        meeting=lambda frame: (frame["status"] == MEETS).astype("int64"))
    grouped = judged.groupby("school_id")["meeting"]
    frame = pd.DataFrame({"days_meeting": grouped.sum(), "days_judged": grouped.size()}).astype("int64")
    frame["status"] = pd.Series([MEETS if 2 * m > j else BELOW for m, j in
                                 zip(frame["days_meeting"], frame["days_judged"])], index=frame.index, dtype="str")
    return frame


def school_figures(schools: pd.DataFrame, daily: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The per-school table: `schools` (school_frame) joined with the measured download and the period status.

    Added columns: state (measured, silent, unconnected), days_measured, measured_download_bps (NaN for
    silent, 0 for unconnected), per_student_bps (bit/s per student of the busiest shift), delivered_ratio
    (measured / contracted), days_meeting, days_judged, status (meets, below, no data).
    """
    figures = schools.set_index("school_id").join(measured_download(daily)).join(period_status(verdicts))
    connected = figures["contracted_bps"] > 0
    figures["state"] = [UNCONNECTED if not c else (MEASURED if d > 0 else SILENT)
                        for c, d in zip(connected, figures["days_measured"].fillna(0))]
    figures["days_measured"] = figures["days_measured"].fillna(0).astype("int64")
    figures.loc[~connected, "measured_download_bps"] = 0.0
    figures["per_student_bps"] = figures["measured_download_bps"] / figures["busiest_shift_students"].clip(lower=1)
    figures["delivered_ratio"] = figures["measured_download_bps"] / figures["contracted_bps"].where(connected)
    figures["days_meeting"] = figures["days_meeting"].fillna(0).astype("int64")
    figures["days_judged"] = figures["days_judged"].fillna(0).astype("int64")
    figures["status"] = figures["status"].fillna(NO_DATA)
    figures.loc[~connected, "status"] = BELOW
    return figures.reset_index()


def counted(figures: pd.DataFrame) -> pd.DataFrame:
    """The schools whose bandwidth counts: measured and unconnected (silent ones left out)."""
    return figures[figures["state"] != SILENT]
