"""When the probe measures: periodic jobs in school hours, throughput tests at random moments, a data budget.

A fleet of 7,500 probes must never start together: every job starts at a random phase of its
interval and each run is jittered by ±10 %; throughput tests fall at random moments inside their
windows, drawn per probe and per day (the same draw after a restart, so a restart never repeats a
test). Only one throughput test runs at a time and periodic jobs wait while it runs, so a latency
train never measures the probe's own test. Workers stop when `stop` is set, within one job run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from core.measurement import Kind, Measurement
from core.school_calendar import SchoolCalendar
from core.timezone import almaty
from probes.clock import Clock
from probes.config import Job, ProbeConfig, SchoolHours, ThroughputPlan, Window
from probes.context import ProbeContext
from probes.host import release_memory
from probes.outbox import Outbox
from probes.probers import run_prober

JITTER = 0.1                  # each periodic run: interval × uniform(1 - JITTER, 1 + JITTER)
MIN_SUBTEST_BYTES = 2_000_000  # below this a throughput test says nothing; skip it instead

Sink = Callable[[list[Measurement]], None]
log = logging.getLogger("mektepnet.probe.schedule")


def local_now(clock: Clock) -> datetime:
    """Now in Asia/Almaty by the best clock known: the collector's reference when learned, else the host's."""
    reference = clock.reference_now()
    return datetime.fromtimestamp(reference if reference is not None else clock.wall(), almaty())


def in_school_hours(instant: datetime, hours: SchoolHours, calendar: SchoolCalendar) -> bool:
    """True inside [start, end) of a school day (Asia/Almaty)."""
    local = instant.astimezone(almaty())
    return calendar.is_school_day(local.date(), hours.week_days) and hours.start <= local.time() < hours.end


def _window_instants(day: date, window: Window, count: int, rng: random.Random) -> list[datetime]:
    start = datetime.combine(day, window.start, almaty())
    end = datetime.combine(day, window.end, almaty())
    if end <= start:
        end += timedelta(days=1)            # a window past midnight
    span = (end - start).total_seconds()
    return [start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count)]


def throughput_moments(day: date, plan: ThroughputPlan, week_days: int, calendar: SchoolCalendar,
                       seed: str) -> list[datetime]:
    """The moments of a day's throughput tests, sorted; the same for the same seed and day."""
    rng = random.Random(hashlib.sha256(f"{seed}:{day.isoformat()}".encode()).digest())
    moments = _window_instants(day, plan.night_window, plan.night_tests, rng)
    if plan.day_windows and (not plan.school_days_only or calendar.is_school_day(day, week_days)):
        per_window = [plan.daytime_tests // len(plan.day_windows)] * len(plan.day_windows)
        for index in range(plan.daytime_tests % len(plan.day_windows)):
            per_window[index] += 1
        for window, count in zip(plan.day_windows, per_window):
            moments += _window_instants(day, window, count, rng)
    return sorted(moments)


class DataBudget:
    """Bytes spent on throughput tests per local day, kept in the outbox so that restarts do not reset it."""

    def __init__(self, outbox: Outbox, daily_bytes: int):
        self.outbox, self.daily_bytes = outbox, daily_bytes

    def used(self, day: date) -> int:
        """Bytes used on `day`."""
        return int(self.outbox.get(f"data_used:{day.isoformat()}", 0))

    def remaining(self, day: date) -> int:
        """Bytes still allowed on `day`."""
        return max(0, self.daily_bytes - self.used(day))

    def spend(self, day: date, amount: int) -> None:
        """Add `amount` bytes to `day`."""
        self.outbox.put(f"data_used:{day.isoformat()}", self.used(day) + amount)


class Scheduler:
    """Runs the configured jobs and throughput plan, handing every result to `sink` (the outbox first)."""

    def __init__(self, config: ProbeConfig, context: ProbeContext, sink: Sink, budget: DataBudget,
                 calendar: SchoolCalendar, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.config, self.context, self.sink, self.budget = config, context, sink, budget
        self.calendar, self.sleep = calendar, sleep
        self.rng = random.Random()
        self.link_quiet = asyncio.Event()
        self.link_quiet.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run every job and the throughput plan until `stop` is set."""
        workers = [asyncio.create_task(self._periodic(job, stop)) for job in self.config.jobs]
        workers.append(asyncio.create_task(self._throughput(stop)))
        await stop.wait()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _periodic(self, job: Job, stop: asyncio.Event) -> None:
        await self.sleep(self.rng.uniform(0, job.interval_seconds))
        while not stop.is_set():
            try:
                if job.hours == "always" or in_school_hours(local_now(self.context.clock), self.config.school_hours,
                                                             self.calendar):
                    await self.link_quiet.wait()
                    for target in job.targets:
                        self.sink(await run_prober(job.prober, target, self.config.modules, self.context))
            except Exception:          # noqa: BLE001 - e.g. the outbox's disk failed: log, and try next round
                log.exception("%s job failed; it runs again next interval", job.prober)
            await self.sleep(job.interval_seconds * self.rng.uniform(1 - JITTER, 1 + JITTER))

    async def _throughput(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            following = self.next_throughput_moment()
            now = local_now(self.context.clock)
            if following is None:                  # nothing planned in reach (holidays, a plan of zero tests)
                await self.sleep(3600.0)
                continue
            await self.sleep(min((following - now).total_seconds(), 3600.0))
            if local_now(self.context.clock) >= following:
                try:
                    await self.throughput_test(following.date())
                except Exception:      # noqa: BLE001 - the next planned test runs all the same
                    log.exception("throughput test failed")

    def next_throughput_moment(self) -> datetime | None:
        """The next planned test moment from yesterday's to tomorrow's plan, or None."""
        now = local_now(self.context.clock)
        upcoming = [moment for day in (now.date() - timedelta(days=1), now.date(), now.date() + timedelta(days=1))
                    for moment in throughput_moments(day, self.config.throughput, self.config.school_hours.week_days,
                                                     self.calendar, self.context.probe_id)
                    if moment > now]
        return min(upcoming, default=None)

    async def throughput_test(self, day: date) -> list[Measurement]:
        """One ndt7 test now, within the day's remaining budget; periodic jobs wait until it ends."""
        allowance = min(self.config.modules.ndt7.max_bytes_per_subtest, self.budget.remaining(day) // 2)
        if allowance < MIN_SUBTEST_BYTES:
            log.warning("throughput test skipped: %d bytes left of the daily budget", self.budget.remaining(day))
            return []
        module = self.config.modules.model_copy(
            update={"ndt7": self.config.modules.ndt7.model_copy(update={"max_bytes_per_subtest": allowance})})
        from probes.snmp.prober import throughput_with_context

        self.link_quiet.clear()
        try:
            results = await throughput_with_context(module, self.context)
        finally:
            self.link_quiet.set()
            release_memory()
        spent = sum(r.values.get("transferred_bytes", 0) for r in results if r.kind in (Kind.DOWNLOAD, Kind.UPLOAD))
        self.budget.spend(day, int(spent))
        self.sink(results)
        return results

