"""Daily roll-ups and day verdicts: what stays of a school's day once its raw results are dropped.

New results mark their (school, local day) dirty; a roll-up pass summarises each dirty day per kind
(`daily`) and lets each policy's judge give the day its verdict (`daily_verdicts`). Live ingest and
simulated histories go through the same pass (collectors.maintenance.roll_up_all); the older days of a
simulated history, never stored raw, are rolled up from memory by the same `roll_up_day` (`put_rolled_up`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from collectors.store.connection import Connection, Connections
from collectors.store.measurements import primary_value
from core.measurement import Measurement
from core.registry import Registry
from core.statistics import nearest_rank

# One result as the roll-up reads it: kind, primary value, quarantined (0/1), failed (0/1), and the record
# (its JSON body as stored, or the Measurement itself when the day is rolled up from memory).
Row = tuple[str, float | None, int, int, Any]
Judge = Callable[[str, str, list[Measurement]], str | None]


@dataclass(frozen=True)
class DayJudge:
    """One policy's verdict on a school's local day, given when the day is rolled up."""

    policy: str                         # the policy's name, as `daily_verdicts` stores it
    judge: Judge                        # (school_id, day YYYY-MM-DD, the day's trusted records) -> status or None
    kinds: tuple[str, ...] = ()         # the kinds it reads (parsing records is the cost); empty: every kind


class RollUps(Connections):
    """The `daily` roll-up, `daily_verdicts` and the `schools` table the Grafana views join."""

    def sync_schools(self, registry: Registry) -> None:
        """Put the registry's descriptive columns in the `schools` table, which the Grafana views join."""
        rows = [(s.school_id, s.name, s.region, s.district, s.locality.value, s.category.value, s.isp,
                 s.contracted_bps, s.students) for s in registry]
        with self._writing() as db:
            db.execute("DELETE FROM schools")
            db.executemany("INSERT INTO schools VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def roll_up(self, judges: Sequence[DayJudge] = (), limit: int = 2000) -> int:
        """Recompute the daily roll-up (and each judge's verdict) of up to `limit` days that got new results.

        A day is taken off the to-do list before it is read, so a result arriving meanwhile puts it
        back and it is recomputed on the next pass. Returns how many school-days were rolled up.
        """
        with self._lock:
            keys = self._db.execute("SELECT school_id, day FROM dirty_days ORDER BY day LIMIT ?", (limit,)).fetchall()
            self._db.executemany("DELETE FROM dirty_days WHERE school_id = ? AND day = ?", keys)
        for school_id, day in keys:
            rows = self._read("SELECT kind, value, quarantined, failed, body FROM measurements "
                              "WHERE school_id = ? AND day = ?", (school_id, day))
            with self._writing() as db:
                _write(db, *roll_up_day(school_id, day, rows, judges, Measurement.model_validate_json))
        return len(keys)

    def put_rolled_up(self, days: Iterable[tuple[str, str, list[Row]]], judges: Sequence[DayJudge] = ()) -> int:
        """Roll up and judge school-days whose results are in memory and never stored raw (an older simulated
        history), by the same summary and judges as `roll_up`, in one transaction; `days` holds
        (school_id, day YYYY-MM-DD, its result rows). Returns how many school-days were written."""
        figures = [roll_up_day(school_id, day, rows, judges, lambda m: m) for school_id, day, rows in days]
        with self._writing() as db:
            _write(db, [s for summaries, _ in figures for s in summaries], [v for _, verdicts in figures for v in verdicts])
        return len(figures)

    def daily(self, school_id: str) -> dict[tuple[str, str], tuple]:
        """A school's roll-ups by (day, kind): (samples, quarantined, failed, p10, median, p90, mean)."""
        rows = self._read("SELECT day, kind, samples, quarantined, failed, p10, median, p90, mean FROM daily "
                          "WHERE school_id = ?", (school_id,))
        return {(day, kind): tuple(rest) for day, kind, *rest in rows}

    def daily_verdicts(self, policy: str) -> dict[tuple[str, str], str]:
        """Day-level verdicts of a policy by (school_id, day)."""
        rows = self._read("SELECT school_id, day, status FROM daily_verdicts WHERE policy = ?", (policy,))
        return {(school, day): status for school, day, status in rows}


def result_row(measurement: Measurement, quarantined: bool) -> Row:
    """What the roll-up reads of one result, as the `measurements` table holds it (the record itself in place
    of its JSON body)."""
    return (measurement.kind.value, primary_value(measurement), int(quarantined), int(measurement.error is not None),
            measurement)


def roll_up_day(school_id: str, day: str, rows: Sequence[Row], judges: Sequence[DayJudge],
                parse: Callable[[Any], Measurement]) -> tuple[list[tuple], list[tuple]]:
    """The `daily` rows (one per kind) and `daily_verdicts` rows (one per judge with a verdict) of one
    school-day, from its result rows; `parse` turns a row's record into a Measurement, only for the judged ones."""
    summaries = [(school_id, day, kind, *summary) for kind, summary in _summarise(rows).items()]
    parsed = set() if any(not j.kinds for j in judges) else {kind for j in judges for kind in j.kinds}
    trusted = [(kind, parse(record)) for kind, _, held, _, record in rows
               if judges and not held and (not parsed or kind in parsed)]
    verdicts = []
    for judge in judges:
        status = judge.judge(school_id, day, [m for kind, m in trusted if not judge.kinds or kind in judge.kinds])
        if status is not None:
            verdicts.append((school_id, day, judge.policy, status))
    return summaries, verdicts


def _write(db: Connection, summaries: list[tuple], verdicts: list[tuple]) -> None:
    """Insert or replace roll-ups and day verdicts, inside the caller's transaction."""
    db.executemany(
        "INSERT INTO daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (school_id, day, kind) DO UPDATE "
        "SET samples = excluded.samples, quarantined = excluded.quarantined, failed = excluded.failed, "
        "p10 = excluded.p10, median = excluded.median, p90 = excluded.p90, mean = excluded.mean", summaries)
    db.executemany("INSERT INTO daily_verdicts VALUES (?, ?, ?, ?) ON CONFLICT "
                   "(school_id, day, policy) DO UPDATE SET status = excluded.status", verdicts)


def _summarise(rows) -> dict[str, tuple]:
    """Per kind: (trusted samples, quarantined, failed, p10, median, p90, mean) of the trusted values."""
    by_kind: dict[str, list] = {}
    for kind, value, held, failed, _ in rows:
        by_kind.setdefault(kind, []).append((value, held, failed))
    summaries = {}
    for kind, items in by_kind.items():
        values = sorted(v for v, held, failed in items if not held and not failed and v is not None)
        figures = ((nearest_rank(values, 0.1), statistics.median(values), nearest_rank(values, 0.9),
                    statistics.fmean(values)) if values else (None, None, None, None))
        summaries[kind] = (sum(1 for _, held, _ in items if not held), sum(1 for _, held, _ in items if held),
                           sum(1 for _, held, failed in items if failed and not held), *figures)
    return summaries
