"""The scheduler: random but repeatable throughput moments inside windows, school hours, the data budget."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import pytest

from core.timezone import almaty
from probes.clock import Clock
from probes.config import Job, Module, Ndt7Module, ProbeConfig, SchoolHours, ThroughputPlan, Window
from probes.context import ProbeContext
from probes.ndt7.servers import ServerEntry
from probes.ndt7.server import ServerConfig
from probes.outbox import Outbox
from probes.scheduler import DataBudget, Scheduler, in_school_hours, throughput_moments
from tests.helpers.ndt7 import server_thread

SCHOOL_DAY, SUNDAY, WINTER_BREAK = date(2026, 11, 24), date(2026, 11, 22), date(2027, 1, 2)


def test_moments_are_inside_their_windows_and_repeatable(calendar):
    plan = ThroughputPlan()
    moments = throughput_moments(SCHOOL_DAY, plan, 5, calendar, "p-1")
    assert moments == throughput_moments(SCHOOL_DAY, plan, 5, calendar, "p-1")
    assert len(moments) == plan.daytime_tests + plan.night_tests
    night = [m for m in moments if m.time() < time(6)]
    day = [m for m in moments if m.time() >= time(6)]
    assert len(night) == 1 and time(1) <= night[0].time() < time(5)
    assert all(time(8, 30) <= m.time() < time(17, 30) for m in day) and len(day) == 3
    assert moments == sorted(moments)


def test_probes_spread_their_tests(calendar):
    from collections import Counter

    moments = [moment for n in range(300)
               for moment in throughput_moments(SCHOOL_DAY, ThroughputPlan(night_tests=0), 5, calendar, f"p-{n}")]
    per_minute = Counter(m.replace(second=0, microsecond=0) for m in moments)
    assert len(moments) == 900 and max(per_minute.values()) <= 10     # 900 tests in 540 minutes, never bunched


def test_no_daytime_tests_on_days_off(calendar):
    for day in (SUNDAY, WINTER_BREAK):
        moments = throughput_moments(day, ThroughputPlan(), 5, calendar, "p-1")
        assert len(moments) == 1 and moments[0].time() < time(5)


def test_a_window_past_midnight_wraps(calendar):
    plan = ThroughputPlan(night_window=Window(start=time(23), end=time(2)), night_tests=4, daytime_tests=0)
    for moment in throughput_moments(SCHOOL_DAY, plan, 5, calendar, "p-1"):
        assert moment.time() >= time(23) or moment.time() < time(2)


def test_school_hours_follow_the_calendar_in_almaty_time(calendar):
    hours = SchoolHours(start=time(8), end=time(18, 30))
    assert in_school_hours(datetime(2026, 11, 24, 9, tzinfo=almaty()), hours, calendar)
    assert not in_school_hours(datetime(2026, 11, 24, 19, tzinfo=almaty()), hours, calendar)
    assert not in_school_hours(datetime(2026, 11, 22, 9, tzinfo=almaty()), hours, calendar)
    # 03:30 UTC is 08:30 in Almaty: inside, whatever the host's zone is.
    assert in_school_hours(datetime.fromisoformat("2026-11-24T03:30:00+00:00"), hours, calendar)


def _config(tmp_path, url: str, budget: int) -> ProbeConfig:
    return ProbeConfig(collector="http://127.0.0.1:1", school_id="KZ-001", state_dir=tmp_path,
                       jobs=(Job(prober="icmp", targets=("127.0.0.1",), interval_seconds=60, hours="always"),),
                       throughput=ThroughputPlan(daily_budget_bytes=budget),
                       modules=Module(ndt7=Ndt7Module(servers=(ServerEntry(name="local", url=url),),
                                                      max_bytes_per_subtest=8_000_000, adaptive=False)))


def test_throughput_tests_respect_the_daily_budget(tmp_path, calendar):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    recorded = []
    with server_thread(ServerConfig()) as ndt7:
        config = _config(tmp_path, ndt7.url, budget=12_000_000)
        budget = DataBudget(outbox, config.throughput.daily_budget_bytes)

        async def two_tests():
            scheduler = Scheduler(config, ProbeContext("KZ-001", "p-1", Clock()), recorded.extend, budget, calendar)
            first = await scheduler.throughput_test(SCHOOL_DAY)
            second = await scheduler.throughput_test(SCHOOL_DAY)
            return first, second

        first, second = asyncio.run(two_tests())
    # 12 MB allows 6 MB per direction, under the module's 8 MB cap; then too little is left for another test.
    assert [r.kind.value for r in first] == ["download", "upload"]
    assert all(int(r.attributes["app_bytes"]) <= 6_000_000 for r in first)
    assert second == [] and recorded == first
    assert budget.used(SCHOOL_DAY) == sum(int(r.values["transferred_bytes"]) for r in first)
    assert budget.used(SCHOOL_DAY + timedelta(days=1)) == 0
    used = budget.used(SCHOOL_DAY)
    outbox.close()
    again = DataBudget(Outbox(tmp_path / "outbox.sqlite3"), 12_000_000)
    assert again.used(SCHOOL_DAY) == used >= 12_000_000           # a restart does not reset it


def test_periodic_jobs_start_at_random_phases_and_stop(tmp_path, calendar):
    config = ProbeConfig(collector="http://127.0.0.1:1", school_id="KZ-001", state_dir=tmp_path,
                         jobs=(Job(prober="icmp", targets=("127.0.0.1",), interval_seconds=0.5, hours="always"),),
                         throughput=ThroughputPlan(daytime_tests=0, night_tests=0),
                         modules=Module(icmp={"method": "tcp-connect", "count": 2, "interval_seconds": 0.01,
                                              "tcp_port": 9}))
    recorded = []

    async def run_for(seconds: float):
        stop = asyncio.Event()
        scheduler = Scheduler(config, ProbeContext("KZ-001", "p-1", Clock()), recorded.extend,
                              DataBudget(Outbox(tmp_path / "o.sqlite3"), 0), calendar)
        task = asyncio.create_task(scheduler.run(stop))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(run_for(2.2))
    assert 3 <= len(recorded) <= 6
    assert all(r.kind.value == "latency" and r.method == "tcp-connect" for r in recorded)
    assert pytest.approx(0.0) == recorded[0].values["loss_ratio"]     # a RST answers as fast as a SYN-ACK


def test_no_test_is_run_when_none_is_planned(tmp_path, calendar):
    config = ProbeConfig(collector="http://127.0.0.1:1", school_id="KZ-001", state_dir=tmp_path, jobs=(),
                         throughput=ThroughputPlan(daytime_tests=0, night_tests=0))
    scheduler = Scheduler(config, ProbeContext("KZ-001", "p-1", Clock()), lambda records: None,
                          DataBudget(Outbox(tmp_path / "o.sqlite3"), 10**9), calendar)
    assert scheduler.next_throughput_moment() is None
    with pytest.raises(ValueError, match="needs at least one of day_windows"):
        ThroughputPlan(day_windows=())
    assert throughput_moments(SCHOOL_DAY, ThroughputPlan(day_windows=(), daytime_tests=0), 5, calendar, "p") != []
