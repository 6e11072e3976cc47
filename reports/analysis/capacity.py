"""What the measured bandwidth allows: simultaneous video lessons per school, and computers per student beside it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.analysis.schools import counted

# The video-lesson bitrate of the national platform profile (loadtests/data/local.yaml: 1.5 Mbit/s).
VIDEO_BITRATE_BPS = 1_500_000.0


def video_lessons(figures: pd.DataFrame, bitrate_bps: float = VIDEO_BITRATE_BPS) -> pd.Series:
    """Per school (index school_id): whole video streams the measured download carries at once (silent: NaN)."""
    data = figures.set_index("school_id")["measured_download_bps"]
    return np.floor(data / bitrate_bps)


def capacity(figures: pd.DataFrame, by: str, bitrate_bps: float = VIDEO_BITRATE_BPS) -> pd.DataFrame:
    """Per value of `by`: median simultaneous video lessons per school, schools that cannot carry one,
    and computers per student (sum of computers / sum of students) and per student of the busiest shift.

    Silent schools are left out of the video figures and kept in the computer figures.
    """
    data = figures.assign(video_lessons=np.floor(figures["measured_download_bps"] / bitrate_bps))
    measured = counted(data).groupby(by, sort=True)
    everyone = data.groupby(by, sort=True)
    table = pd.DataFrame({"video_lessons_median": measured["video_lessons"].median(),
                          "schools_without_video": measured["video_lessons"].apply(lambda s: int((s < 1).sum())),
                          "computers": everyone["computers"].sum(), "students": everyone["students"].sum(),
                          "busiest_shift_students": everyone["busiest_shift_students"].sum()})
    table["computers_per_student"] = table["computers"] / table["students"].where(table["students"] > 0)
    table["computers_per_shift_student"] = table["computers"] / table["busiest_shift_students"].where(
        table["busiest_shift_students"] > 0)
    return table
