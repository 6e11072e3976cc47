"""The store's public read API for analyses: typed queries over a period that return pandas DataFrames.

Reports and dashboards read the store through these, on SQLite and PostgreSQL alike, never through
a connection of their own. Periods are local (Asia/Almaty) dates, first and last inclusive; a `day`
column holds that local date as a datetime64 at midnight, without a time zone. pandas is imported
on first use: the collector's ingest processes never pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from collectors.store.connection import Connections
from core.verdict import Period

if TYPE_CHECKING:
    import pandas as pd

_DAILY = {"day": "day", "school_id": "str", "kind": "str", "samples": "int64", "quarantined": "int64",
          "failed": "int64", "p10": "float64", "median": "float64", "p90": "float64", "mean": "float64"}
_VERDICTS = {"day": "day", "school_id": "str", "status": "str"}
_SCHOOLS = {"school_id": "str", "name": "str", "region": "str", "district": "str", "locality": "str",
            "category": "str", "isp": "str", "contracted_bps": "float64", "students": "int64"}


class Frames(Connections):
    """DataFrames of the daily roll-up, the day verdicts, the schools and one school's raw results."""

    read_chunk_rows = 100_000            # rows SQLite hands over as tuples at a time, typed before the next ones

    def daily_figures(self, period: Period, kinds: Sequence[str] = ()) -> pd.DataFrame:
        """The daily roll-up of every school over `period` (of some kinds if given), one row per day, school and kind.

        Columns: day (local date), school_id (str), kind (str: download, upload, latency, dns, http, snmp),
        samples (int: trusted records), quarantined (int: records kept out for their clock), failed (int:
        trusted records that failed), p10, median, p90 (nearest rank / median) and mean (float) of the
        kind's primary value over the trusted successful records, in base units — throughput_bps (bit/s)
        for download and upload, in_bps (bit/s) for snmp, rtt_median_seconds for latency,
        resolution_seconds for dns, total_seconds for http — NaN when the day had none. Sorted by day,
        school_id, kind.
        """
        query, params = _in_period(f"SELECT {', '.join(_DAILY)} FROM daily", period, kinds)
        return self._columnar(query, params, _DAILY, ("day", "school_id", "kind"))

    def day_verdicts(self, policy: str, period: Period) -> pd.DataFrame:
        """The day verdicts of `policy` (its name) over `period`, one row per day and school that got results.

        Columns: day (local date), school_id (str), status (str: "meets", "below" or "no data").
        Sorted by day, school_id.
        """
        query, params = _in_period(f"SELECT {', '.join(_VERDICTS)} FROM daily_verdicts", period)
        return self._columnar(query + " AND policy = ?", [*params, policy], _VERDICTS, ("day", "school_id"))

    def school_table(self) -> pd.DataFrame:
        """The `schools` table (the registry the collector or simulator last synced), one row per school.

        Columns: school_id, name, region, district (str), locality (str: urban, rural), category (str:
        urban, rural, ungraded), isp (str), contracted_bps (float, bit/s), students (int). Sorted by school_id.
        """
        return self._columnar(f"SELECT {', '.join(_SCHOOLS)} FROM schools", (), _SCHOOLS, ("school_id",))

    def _columnar(self, sql: str, params: Sequence, columns: dict[str, str], order: Sequence[str]) -> pd.DataFrame:
        """A query's rows as a DataFrame of these column types sorted by `order` (a unique key), built column by
        column: PostgreSQL's COPY parsed by Arrow, sorted by the server; SQLite's rows a chunk at a time, each
        chunk's columns typed before the next is read, sorted here (by code point, as SQLite's BINARY order is)."""
        import numpy as np
        import pandas as pd

        if self.postgresql:
            data = self._read_csv(f"{sql} ORDER BY {', '.join(order)}", params)
            return _from_csv(data, columns) if data else _frame([], columns)
        chunks = [_frame(rows, columns) for rows in self._read_chunks(sql, params, self.read_chunk_rows)]
        frame = pd.concat(chunks, ignore_index=True) if chunks else _frame([], columns)
        keys = [pd.factorize(frame[name], sort=True)[0] for name in reversed(order)]
        return frame.take(np.lexsort(keys)).reset_index(drop=True)

    def trusted_measurements(self, school_id: str, period: Period, kinds: Sequence[str] = ()) -> pd.DataFrame:
        """The trusted (not quarantined) raw results of one school whose local day is in `period`, of some kinds
        if given; raw results older than the retention are gone (their roll-ups stay).

        Columns: measurement_id, probe_id, kind, target, method (str), start, end (datetime64, UTC),
        clock_offset_seconds (float, s), day (local date, the end corrected by the offset), value (float:
        the kind's primary value in base units, as in `daily_figures`; NaN when failed), failed (bool),
        error (str, empty unless failed), then one float column per value name the records carry
        (throughput_bps, rtt_median_seconds, loss_ratio, ...: units in the name, ratios 0-1), NaN where a
        record lacks it. Sorted by end.
        """
        query, params = _in_period("SELECT measurement_id, probe_id, kind, start_ts, end_ts, clock_offset_seconds, "
                                   "day, value, failed, body FROM measurements", period, kinds)
        rows = self._read(query + " AND school_id = ? AND quarantined = 0 ORDER BY end_ts, measurement_id",
                          [*params, school_id])
        import pandas as pd

        records = [json.loads(row[-1]) for row in rows]
        frame = _frame([(*row[:3], record["target"], record["method"], *row[3:9], record.get("error") or "")
                        for row, record in zip(rows, records)],
                       {"measurement_id": "str", "probe_id": "str", "kind": "str", "target": "str", "method": "str",
                        "start": "utc", "end": "utc", "clock_offset_seconds": "float64", "day": "day",
                        "value": "float64", "failed": "bool", "error": "str"})
        values = pd.DataFrame.from_records([record["values"] for record in records], index=frame.index)
        return pd.concat([frame, values.astype("float64")], axis=1)


def _in_period(select: str, period: Period, kinds: Sequence[str] = ()) -> tuple[str, list]:
    """`select` limited to the local days of `period` (and to `kinds`), with its parameters."""
    query, params = select + " WHERE day >= ? AND day <= ?", [period.first.isoformat(), period.last.isoformat()]
    if kinds:
        query, params = query + f" AND kind IN ({', '.join('?' * len(kinds))})", [*params, *kinds]
    return query, params


def _frame(rows: list[tuple], columns: dict[str, str]) -> pd.DataFrame:
    """Rows as a DataFrame with these column types, built column by column ("day": a YYYY-MM-DD text as a date;
    "utc": unix seconds; "str": pandas' string type, each distinct text converted once; else a numpy type)."""
    from operator import itemgetter

    import numpy as np
    import pandas as pd

    frame = {}
    for index, (name, kind) in enumerate(columns.items()):
        column = list(map(itemgetter(index), rows))
        if kind == "day":
            frame[name] = np.array(column, dtype="datetime64[D]").astype("datetime64[us]")
        elif kind == "utc":
            frame[name] = pd.to_datetime(np.array(column, dtype="float64"), unit="s", utc=True)
        elif kind == "str":
            codes, texts = pd.factorize(np.array(column, dtype=object))
            frame[name] = pd.array(texts, dtype="str").take(codes, allow_fill=True)
        else:
            frame[name] = np.array(column, dtype=kind)
    return pd.DataFrame(frame)


def _from_csv(data: bytes, columns: dict[str, str]) -> pd.DataFrame:
    """PostgreSQL's CSV of a query (columns in the order of `columns`) parsed by Arrow into the types of `_frame`."""
    import io

    import pyarrow as pa
    from pyarrow import csv

    types = {"day": pa.timestamp("us"), "str": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    table = csv.read_csv(io.BytesIO(data), read_options=csv.ReadOptions(column_names=list(columns)),
                         parse_options=csv.ParseOptions(newlines_in_values=True),
                         convert_options=csv.ConvertOptions(
                             column_types={name: types[kind] for name, kind in columns.items()},
                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    return table.to_pandas()
