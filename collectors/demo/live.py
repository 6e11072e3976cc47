"""The demo's live probes: real school agents that enrol with one-time codes and measure for real.

Each probe is the production agent (probes.agent.Agent): it learns its clock from the collector's
`Date` header, measures latency (raw ICMP, datagram ICMP or TCP connect, whichever this user may use)
to the collector and HTTP to the platform simulator every few seconds, runs one ndt7 test planned by
its own scheduler inside a window that opens now, and uploads everything through the ingest API.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from collectors import enrolment
from collectors.exporter import VERDICT_KINDS
from collectors.demo.services import NDT7_NAME
from collectors.store import Store
from core.norms import load_policy
from core.registry import Registry
from core.school import School
from core.school_calendar import SchoolCalendar
from core.timezone import almaty, to_local
from core.verdict import Period, Verdict, evaluate
from probes.agent import Agent
from probes.config import Job, ProbeConfig
from probes.identity import enroll

DAY_SECONDS = 86_400
UPLOAD_DEADLINE_SECONDS = 30.0       # after measuring, how long the agents get to empty their outboxes


@dataclass(frozen=True)
class LivePlan:
    """How many probes, how long they measure (seconds), and where they measure against."""

    collector_url: str
    ndt7_url: str
    platform_url: str
    probes: int = 4
    measure_seconds: float = 25.0
    job_interval_seconds: float = 1.0        # enough latency trains for a verdict (20) in the demo's seconds
    throughput_tests: int = 5                # a verdict's minimum of throughput samples
    subtest_bytes: int = 10_000_000


@dataclass
class LiveProbe:
    """One live probe after its run: identity, the records it made by kind, what is still in its outbox."""

    school: School
    probe_id: str = ""
    kinds: Counter = field(default_factory=Counter)
    methods: set[str] = field(default_factory=set)
    pending: int = 0
    clock_offset_seconds: float | None = None


def pick_schools(registry: Registry, calendar: SchoolCalendar, count: int, now: datetime) -> list[School]:
    """`count` schools of different categories, those in session at `now` first (their results count in verdicts)."""
    ordered = sorted(registry, key=lambda s: (not calendar.in_school_hours(s, now), s.school_id))
    chosen: list[School] = []
    for school in ordered:                            # one per category first, then fill up
        if school.category not in {c.category for c in chosen}:
            chosen.append(school)
    chosen += [s for s in ordered if s not in chosen][:max(0, count - len(chosen))]
    return sorted(chosen[:count], key=lambda s: s.school_id)


def probe_config(plan: LivePlan, school: School, state_dir: Path, now: datetime) -> ProbeConfig:
    """The agent's configuration: jobs at any hour, one ndt7 test in the next seconds, quick uploads."""
    collector = urlsplit(plan.collector_url)
    local = now.astimezone(almaty())
    window = {"start": (local + timedelta(seconds=3)).time().replace(microsecond=0),
              "end": (local + timedelta(seconds=plan.measure_seconds * 0.7)).time().replace(microsecond=0)}
    return ProbeConfig.model_validate({
        "collector": plan.collector_url, "school_id": school.school_id, "state_dir": state_dir,
        "metrics_address": None,
        "jobs": [Job(prober="icmp", targets=(collector.hostname,), interval_seconds=plan.job_interval_seconds,
                     hours="always"),
                 Job(prober="http", targets=(f"{plan.platform_url}/kundelik/v2/users/me/context",),
                     interval_seconds=plan.job_interval_seconds, hours="always")],
        "throughput": {"day_windows": [window], "daytime_tests": plan.throughput_tests, "night_tests": 0, "school_days_only": False},
        "modules": {"icmp": {"count": 5, "interval_seconds": 0.05, "tcp_port": collector.port},
                    "ndt7": {"servers": [{"name": NDT7_NAME, "url": plan.ndt7_url, "requires_token": True}],
                             "max_bytes_per_subtest": plan.subtest_bytes}},
        "upload": {"interval_seconds": 2.0, "backoff_initial_seconds": 0.5, "backoff_max_seconds": 5.0}})


async def run_live_probes(plan: LivePlan, schools: list[School], db: str, state_root: Path,
                          tick=lambda text: None) -> list[LiveProbe]:
    """Enrol one probe per school with a fresh code, run the agents for `plan.measure_seconds`, let them
    upload, then stop them; `tick(text)` hears what they are doing every few seconds."""
    store = Store(db)
    try:
        codes = {school.school_id: enrolment.issue_code(store, school.school_id) for school in schools}
    finally:
        store.close()
    now = datetime.now(UTC)
    agents, probes = [], []
    for school in schools:
        state_dir = state_root / school.school_id
        credentials = await enroll(plan.collector_url, school.school_id, codes[school.school_id], state_dir)
        agents.append(Agent(probe_config(plan, school, state_dir, now), credentials))
        probes.append(LiveProbe(school, credentials.probe_id))
    recorded: list[Counter] = [Counter() for _ in agents]
    for agent, counter, probe in zip(agents, recorded, probes):
        agent.record = _counting(agent.record, counter, probe.methods)
    stop = asyncio.Event()
    runs = [asyncio.create_task(agent.run(stop)) for agent in agents]
    # Ctrl-C stops the agents the way SIGTERM stops `probe run` (cancelling them mid-write of an outbox would not)
    loop, interrupted = asyncio.get_running_loop(), asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupted.set)
    try:
        measuring = asyncio.create_task(_measure_then_drain(plan, agents, recorded, stop, tick))
        await asyncio.wait([measuring, asyncio.create_task(interrupted.wait())], return_when=asyncio.FIRST_COMPLETED)
        measuring.cancel()
        for agent, probe in zip(agents, probes):
            probe.pending = agent.outbox.depth()[0]
    finally:
        stop.set()
        await asyncio.gather(*runs, return_exceptions=True)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if interrupted.is_set():
        raise KeyboardInterrupt
    for agent, counter, probe in zip(agents, recorded, probes):
        probe.kinds, probe.clock_offset_seconds = counter, agent.clock.offset_seconds()
    return probes


def _counting(record, counter: Counter, methods: set[str]):
    def sink(measurements) -> None:
        record(measurements)
        counter.update(m.kind.value for m in measurements if m.error is None)
        methods.update(f"{m.kind.value}:{m.method}" for m in measurements if m.error is None)
    return sink


async def _measure_then_drain(plan: LivePlan, agents: list[Agent], recorded: list[Counter], stop: asyncio.Event,
                              tick) -> None:
    started = time.monotonic()
    while time.monotonic() - started < plan.measure_seconds:
        await asyncio.sleep(3.0)
        total = sum(recorded, Counter())
        tick(f"{time.monotonic() - started:.0f} s: " + ", ".join(f"{count} {kind}" for kind, count in sorted(total.items())))
    for agent in agents:                          # the measuring time is over: what is measured now is not kept
        agent.record = lambda measurements: None
    told = time.monotonic()
    deadline = time.monotonic() + UPLOAD_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if all(agent.outbox.depth()[0] == 0 for agent in agents):
            return
        if time.monotonic() - told > 3:
            told = time.monotonic()
            tick(f"uploading: {sum(agent.outbox.depth()[0] for agent in agents)} records wait in the outboxes")
        await asyncio.sleep(0.25)


def today_verdict(db: str, school: School, calendar: SchoolCalendar, policy: str = "ministry") -> Verdict:
    """The school's verdict over today (Asia/Almaty) from what the store trusts, as the collector judges it."""
    now = datetime.now(UTC)
    today = to_local(now).date()
    store = Store(db)
    try:
        records = store.trusted_between(now.timestamp() - DAY_SECONDS, now.timestamp() + 1, school.school_id,
                                        VERDICT_KINDS)
    finally:
        store.close()
    return evaluate(school, records, load_policy(policy), calendar, Period(today, today))
