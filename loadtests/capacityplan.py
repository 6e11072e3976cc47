"""The national capacity plan: each platform's peak demand in a shape, its readiness against it, the generator fleet.

Demand is the plan's arithmetic in real time: the shape laid on its own clock window (07:30-09:00
for the first bell), not on a run's compressed duration, so arrivals come as fast as the country
brings them. A platform's students are the run's times its share. Rates in requests/s; the peak's
slot is the quarter hour of the Asia/Almaty day it falls in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import CoreError
from loadtests.capacity import Fleet, generator_fleet
from loadtests.journeys import requests_per_student_second
from loadtests.plan import Plan
from loadtests.truth import requests_per_session

WINDOW = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
SLOT_MINUTES = 15
CURVE_POINTS = 360


@dataclass(frozen=True)
class Demand:
    """One platform's peak in the shape: requests/s, sessions/s, students in session, and when."""

    platform: str
    kind: str
    peak_rps: float
    sessions_per_second: float
    students_in_session: float
    slot: str                       # "08:00-08:15", or seconds into the run for a shape without a clock


def _clock(minutes: float) -> str:
    return f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}"


def real_time(plan: Plan) -> tuple[float, float | None]:
    """(seconds the shape stands for, its first minute of the day) — the run's own duration when it has no clock."""
    match = WINDOW.match(plan.shape.window)
    if not match:
        return plan.duration_seconds, None
    start = int(match[1]) * 60 + int(match[2])
    return (int(match[3]) * 60 + int(match[4]) - start) * 60.0, start


def slot_of(seconds: float, start_minute: float | None) -> str:
    """The quarter hour of the day a second of the shape falls in ("08:00-08:15")."""
    if start_minute is None:
        return f"{seconds:,.0f} s into the run"
    minute = start_minute + seconds / 60
    first = minute - minute % SLOT_MINUTES
    return f"{_clock(first)}-{_clock(first + SLOT_MINUTES)}"


def demands(plan: Plan) -> dict[str, Demand]:
    """Each platform's peak demand in the plan's shape, in real time."""
    seconds, start = real_time(plan)
    total_share = sum(p.share for p in plan.platforms.values())
    found = {}
    for name, platform in plan.platforms.items():
        alone = plan.profile.model_copy(update={"platforms": {name: platform}})
        sizes = tuple(round(size * platform.share / total_share) for size in plan.group_sizes)
        if not sum(sizes):
            continue
        curve = Plan(alone, plan.shape, sizes, seconds, plan.ramp_seconds).rate_curve(CURVE_POINTS)
        at, present, rate = max(curve, key=lambda point: point[2])
        per_student = requests_per_student_second(platform, plan.shape.quarter_end)
        found[name] = Demand(name, platform.kind.value, rate,
                             rate / requests_per_session(platform, plan.shape.quarter_end),
                             max(present, rate / per_student), slot_of(min(at, seconds - 1), start))
    return found


def fleet_for(plan: Plan) -> Fleet:
    """The load generators that rehearse the plan's peak in real time (loadtests.capacity.generator_fleet)."""
    seconds, _ = real_time(plan)
    by_kind: dict[str, float] = {}
    for demand in demands(plan).values():
        by_kind[demand.kind] = by_kind.get(demand.kind, 0.0) + demand.peak_rps
    whole = Plan(plan.profile, plan.shape, plan.group_sizes, seconds, plan.ramp_seconds, plan.kinds)
    in_session = max(present for _, present, _ in whole.rate_curve(CURVE_POINTS))
    return generator_fleet(by_kind, round(in_session))


def verdict(ready_rps: float | None, demand: Demand) -> str:
    """"ready, x1.8 headroom" / "short by x2.3 at 08:00-08:15" / "no readiness given"."""
    if ready_rps is None:
        return "no readiness given (--readiness FILE or --ready-rps NAME=RATE)"
    if ready_rps <= 0:
        return f"not ready: no sustainable rate; the peak is {demand.peak_rps:,.0f} requests/s at {demand.slot}"
    if demand.peak_rps <= 0 or ready_rps >= demand.peak_rps:
        headroom = ready_rps / demand.peak_rps if demand.peak_rps > 0 else float("inf")
        return f"ready, ×{headroom:.1f} headroom"
    return f"short by ×{demand.peak_rps / ready_rps:.1f} at {demand.slot}"


def stated_rates(pairs: list[str], platforms: Mapping[str, object], option: str = "--ready-rps") -> dict[str, float]:
    """"NAME=RATE" pairs read into requests/s per platform; CoreError naming the option and the pair."""
    rates = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or rate < 0:
            raise CoreError.one("command line", option, pair, "write NAME=RATE, a platform and its requests/s")
        if name not in platforms:
            raise CoreError.one("command line", option, pair, f"unknown platform; known: {', '.join(platforms)}")
        rates[name] = rate
    return rates


def show_capacity(console, found: Mapping[str, Demand], ready: Mapping[str, float], fleet: Fleet, window: str) -> None:
    """Print the capacity plan (rich console): per platform its peak, readiness and verdict, then the fleet."""
    from rich.table import Table

    table = Table(title=f"capacity plan: each platform's peak in real time ({window} Asia/Almaty)")
    for column in ("platform", "kind", "peak req/s", "sessions/s", "students in session", "when", "ready req/s",
                   "verdict"):
        table.add_column(column, justify="left" if column in ("platform", "kind", "when", "verdict") else "right")
    for name, demand in found.items():
        rate = ready.get(name)
        table.add_row(name, demand.kind, f"{demand.peak_rps:,.0f}", f"{demand.sessions_per_second:,.0f}",
                      f"{demand.students_in_session:,.0f}", demand.slot, "-" if rate is None else f"{rate:,.0f}",
                      verdict(rate, demand))
    console.print(table)
    console.print(f"load generators to rehearse the peak: {fleet.cores} cores ({fleet.workers} Locust workers and a "
                  f"master) on {fleet.machines} machine(s), {fleet.memory_bytes / 1e9:,.1f} GB, {fleet.connections:,} "
                  f"connections, LimitNOFILE {fleet.open_files_per_worker:,} per worker, "
                  f"{fleet.target_ports_per_machine} target port(s) per machine")
