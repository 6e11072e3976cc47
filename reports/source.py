"""Every read of the measurement store the report makes, in one place, through the store's public API.

The store's DataFrame read API (`daily_figures`, `day_verdicts`, `school_table`) gives the roll-ups,
the stored day verdicts and the schools. Days a policy has no stored verdict for are judged here by the collector's own day
judge (`collectors.exporter.Verdicts.judge`, i.e. `core.verdict` over one day) on the raw results
still within retention; nothing of the verdict logic is repeated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, time, timedelta

import pandas as pd

from collectors.exporter import VERDICT_KINDS, Verdicts
from collectors.store import Store, local_day
from core.norms import Policy
from core.registry import Registry
from core.school_calendar import SchoolCalendar
from core.timezone import almaty
from core.verdict import Period
from reports.analysis import PeriodData
from reports.errors import ReportError

Progress = Callable[[str], None]         # told what is being read, once per step

def read_period(store: Store, registry: Registry, policies: tuple[Policy, ...], calendar: SchoolCalendar,
                period: Period, progress: Progress = lambda step: None) -> PeriodData:
    """The daily download roll-ups of `period` on each school's school days (the only kind the report reads) and a
    day verdict per school-day and policy (stored, or judged here)."""
    progress("daily")
    daily = school_days_only(store.daily_figures(period, ("download",)), registry, calendar)
    verdicts = {}
    for policy in policies:
        progress(policy.name)
        stored = store.day_verdicts(policy.name, period)
        verdicts[policy.name] = stored if len(stored) else _judge(store, registry, policy, calendar, period)
    return PeriodData(period, daily, verdicts)


def school_days_only(daily: pd.DataFrame, registry: Registry, calendar: SchoolCalendar) -> pd.DataFrame:
    """The rows of days that were school days for their school (its 5- or 6-day week; holidays and breaks out)."""
    week_days = daily["school_id"].map({school.school_id: school.week_days for school in registry})
    days = daily["day"].unique()
    keep = pd.Series(False, index=daily.index)
    for count in (5, 6):
        open_days = [day for day in days if calendar.is_school_day(pd.Timestamp(day).date(), count)]
        keep |= (week_days == count) & daily["day"].isin(open_days)
    return daily[keep].reset_index(drop=True)


def check_registry(store: Store, registry: Registry, daily: pd.DataFrame) -> None:
    """Refuse a registry that does not describe the store's schools (some stored school is not in it)."""
    stored = set(store.school_table()["school_id"])
    stored |= set(daily["school_id"]) | {school_id for school_id, _ in store.latest_values()}
    unknown = sorted(school_id for school_id in stored if school_id not in registry)
    if unknown:
        raise ReportError.one("--registry", "school_id", unknown[0],
                              f"{len(unknown)} of the store's {len(stored)} schools are not in the registry "
                              "(is it the registry the collector runs with?)")


def _judge(store: Store, registry: Registry, policy: Policy, calendar: SchoolCalendar,
           period: Period) -> pd.DataFrame:
    """Day verdicts of `policy` from the raw results (the store judged its days under another policy)."""
    judge = Verdicts(store, registry, policy, calendar)
    start = datetime.combine(period.first, time(), almaty()) - timedelta(hours=2)
    end = datetime.combine(period.last + timedelta(days=1), time(), almaty()) + timedelta(hours=2)
    rows = []
    for school in registry:
        by_day = defaultdict(list)
        for record in store.trusted_between(start.timestamp(), end.timestamp(), school.school_id, VERDICT_KINDS):
            by_day[local_day(record)].append(record)
        for day, records in sorted(by_day.items()):
            if period.first.isoformat() <= day <= period.last.isoformat():
                rows.append((day, school.school_id, judge.judge(school.school_id, day, records)))
    return _verdict_frame(rows)


def _verdict_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["day", "school_id", "status"])
    frame["day"] = pd.to_datetime(frame["day"].astype("str"), format="%Y-%m-%d")
    return frame.sort_values(["day", "school_id"], ignore_index=True)
