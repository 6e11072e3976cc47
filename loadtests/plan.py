"""A load test's plan: which students arrive when, on which platform, and the request rate that implies.

The plan is pure arithmetic, the same in the `mektepnet loadtest` command (which checks it against the
profile's limits before anything is started) and in every Locust worker (which takes its share of
the students: number % workers == worker index). Times in seconds from the start of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import CoreError
from loadtests.journeys import Pause, journeys, requests_per_student_second
from loadtests.profile import PlatformKind, Platform, Profile
from loadtests.shapes import Shape

MASK64 = (1 << 64) - 1


def _spread(number: int, salt: int) -> float:
    """A fixed pseudo-random fraction in [0, 1) for a student number (splitmix64: salts give independent draws)."""
    x = (number * 0x9E3779B97F4A7C15 + (salt + 1) * 0xD1B54A32D192ED03) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return (x ^ (x >> 31)) / 2**64


@dataclass(frozen=True, slots=True)
class Arrival:
    """When one student arrives and leaves, and the platform they use."""

    number: int
    platform: str
    arrive_seconds: float
    leave_seconds: float


@dataclass(frozen=True)
class Plan:
    """Everything a run needs to schedule its students."""

    profile: Profile
    shape: Shape
    group_sizes: tuple[int, ...]        # students of each of the shape's groups, in order
    duration_seconds: float
    ramp_seconds: float | None = None   # arrivals of a steady shape are spread over this (default: a quarter)
    kinds: frozenset[PlatformKind] | None = None
    regions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.platforms:
            raise CoreError.one("command line", "--kind", ",".join(sorted(self.kinds or ())),
                                f"profile {self.profile.name!r} has no platform of this kind")

    @property
    def platforms(self) -> dict[str, Platform]:
        """The platforms this run aims at."""
        return self.profile.only(set(self.kinds) if self.kinds else None)

    @property
    def students(self) -> int:
        """Students in the whole run."""
        return sum(self.group_sizes)

    def _platform_of(self, number: int) -> str:
        chosen = self.platforms
        total = sum(p.share for p in chosen.values())
        point, running = _spread(number, 1) * total, 0.0
        for name, platform in chosen.items():
            running += platform.share
            if point < running:
                return name
        return next(reversed(chosen))

    def _arrival_in(self, group, index: int, size: int, offset: int) -> Arrival:
        number = offset + index
        u = (index + 0.5) / size
        if self.shape.name == "steady":
            arrive = u * self._ramp()
        else:
            arrive = self.shape.arrival_quantile(group)(u) * self.duration_seconds
        low, high = group.leave
        leave = (low + (high - low) * _spread(number, 2)) * self.duration_seconds
        return Arrival(number, self._platform_of(number), arrive, max(leave, arrive))

    def _ramp(self) -> float:
        return self.ramp_seconds if self.ramp_seconds is not None else self.duration_seconds / 4

    def arrivals(self, worker_index: int = 0, workers: int = 1):
        """The arrivals of one worker's share of the students, in student order."""
        offset = 0
        for group, size in zip(self.shape.groups, self.group_sizes):
            first = (worker_index - offset) % workers
            for index in range(first, size, workers):
                yield self._arrival_in(group, index, size, offset)
            offset += size

    def rate_curve(self, points: int = 400) -> list[tuple[float, float, float]]:
        """(seconds, students in session, intended requests/s) through the run, from the shape alone."""
        per_student = {name: requests_per_student_second(p, self.shape.quarter_end) for name, p in self.platforms.items()}
        total_share = sum(p.share for p in self.platforms.values())
        mean_rate = sum(per_student[n] * p.share / total_share for n, p in self.platforms.items())
        burst = sum(_leading_quick(p, self.shape.quarter_end) * p.share / total_share for p in self.platforms.values())
        step = self.duration_seconds / points
        curve, arrived_before = [], 0.0
        for point in range(points + 1):
            t = point * step
            arrived, present = 0.0, 0.0
            for group, size in zip(self.shape.groups, self.group_sizes):
                if size == 0:
                    continue
                fraction = _arrived_fraction(self, group, t)
                low, high = (x * self.duration_seconds for x in group.leave)
                if t < low or low >= self.duration_seconds:
                    left = 0.0
                else:
                    left = 1.0 if t >= high or high == low else (t - low) / (high - low)
                arrived += fraction * size
                present += max(0.0, fraction - left) * size
            arrival_rate = (arrived - arrived_before) / step if point else 0.0
            arrived_before = arrived
            curve.append((t, present, present * mean_rate + arrival_rate * burst))
        return curve

    def peak_requests_per_second(self) -> float:
        """The highest intended request rate of the run (sessions in progress plus the login bursts of arrivals)."""
        return max(rate for _, _, rate in self.rate_curve())

    def check_limits(self) -> None:
        """Refuse a plan whose peak rate or duration breaks the profile's limits (nothing has been sent yet)."""
        limits = self.profile.limits
        if self.duration_seconds > limits.max_duration_seconds:
            raise CoreError.one("command line", "--duration", f"{self.duration_seconds:g}s",
                                f"exceeds the profile's limits.max_duration_seconds ({limits.max_duration_seconds:g})")
        peak = self.peak_requests_per_second()
        if peak > limits.max_requests_per_second:
            raise CoreError.one("command line", "--students", self.students,
                                f"the plan peaks at ~{peak:,.0f} requests/s, above the profile's "
                                f"limits.max_requests_per_second ({limits.max_requests_per_second:,.0f})")


def _arrived_fraction(plan: Plan, group, t: float) -> float:
    if plan.shape.name == "steady":
        ramp = plan._ramp()
        return 1.0 if ramp <= 0 else min(1.0, t / ramp)
    quantile = plan.shape.arrival_quantile(group)
    x = t / plan.duration_seconds
    low, high = 0.0, 1.0
    for _ in range(30):  # invert the quantile function by bisection
        mid = (low + high) / 2
        if quantile(mid) <= x:
            low = mid
        else:
            high = mid
    return low


def _leading_quick(platform: Platform, quarter_end: bool) -> float:
    chosen = journeys(platform.kind, quarter_end)
    total = sum(j.weight for j in chosen)
    leading = 0.0
    for journey in chosen:
        count = 1
        for step in journey.steps:
            if step.pause is not Pause.QUICK:
                break
            count += 1
        leading += journey.weight / total * count
    return leading
