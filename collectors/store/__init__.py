"""The measurement store: the system of record behind one small interface, on SQLite or PostgreSQL.

SQLite (a file path) is the embedded default; PostgreSQL (`postgresql://...`) is the national
deployment. Its parts: the schema and its migrations (`schema`), raw results and each school's latest
values (`measurements`), monthly partitions and retention (`partitions`), daily roll-ups and day
verdicts (`rollups`), enrolment codes and tokens (`credentials`), and the read API for analyses,
DataFrames over a period (`frames`).
"""

from __future__ import annotations

from pathlib import Path

from collectors.store.connection import is_postgresql, unavailable
from collectors.store.credentials import Credentials, ProbeRecord
from collectors.store.frames import Frames
from collectors.store.measurements import (MAX_TRUSTED_OFFSET_SECONDS, PRIMARY_VALUES, Measurements, local_day,
                                           primary_value)
from collectors.store.rollups import DayJudge, RollUps
from collectors.store.schema import MIGRATIONS, STORE_TABLES, migrate

__all__ = ["MAX_TRUSTED_OFFSET_SECONDS", "MIGRATIONS", "PRIMARY_VALUES", "STORE_TABLES", "DayJudge",
           "ProbeRecord", "Store", "is_postgresql", "local_day", "primary_value", "unavailable"]


class Store(Measurements, RollUps, Credentials, Frames):
    """A store at `url` (a SQLite file path or a postgresql:// URL); safe to share between threads."""

    def __init__(self, url: str | Path):
        super().__init__(url)
        with self._lock:
            migrate(self._db)
            self._load_partitions()
