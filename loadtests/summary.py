"""A load test's summary: per endpoint results, the open model's counts, and when and why the run stopped.

The Locust master writes it as `summary.json` at the end of a run; `Summary.model_validate_json`
reads it back (the readiness finder does). Latencies in milliseconds from the intended send time,
lag and times in seconds, rates per second.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class StopBound(StrEnum):
    """What ended a run."""

    ERROR_RATIO = "error_ratio"    # limits.stop_when.error_ratio broken over the window
    P95_SECONDS = "p95_seconds"    # limits.stop_when.p95_seconds broken over the window
    DURATION = "duration"          # the planned duration ran out: the run completed
    INTERRUPTED = "interrupted"    # ended before its duration with no bound broken (web UI Stop, a signal)
    SLO = "slo"                    # a readiness step's SLO clearly broken (loadtests.stepstats.clearly_broken)


class Stop(BaseModel):
    """When and why a run stopped, and the load at that moment."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    bound: StopBound
    value: float                    # the bound's measure: error ratio, p95 seconds, or seconds run
    limit: float                    # the bound's limit (for duration: the planned seconds)
    window_seconds: float           # the sliding window the value was judged over (0 for duration)
    at_second: float                # second of the run it happened
    arrival_rate_per_second: float  # students arriving per second over the window before it
    request_rate_per_second: float  # requests sent per second over the window before it
    in_session: int                 # students in session at that moment
    statistic: str | None = None    # the SLO's broken statistic (bound slo): p50, p95, p99 or errors

    @property
    def broke_a_bound(self) -> bool:
        """True when a stop bound (error ratio, p95) ended the run."""
        return self.bound in (StopBound.ERROR_RATIO, StopBound.P95_SECONDS, StopBound.SLO)

    def describe(self) -> str:
        """One line for people: what broke, by how much, when, and the load then."""
        load = (f"at {self.at_second:.0f} s, {self.arrival_rate_per_second:,.1f} students/s arriving, "
                f"{self.request_rate_per_second:,.0f} requests/s, {self.in_session:,} in session")
        if self.bound is StopBound.ERROR_RATIO:
            return f"error ratio {self.value:.2f} over {self.window_seconds:g} s > {self.limit:g} ({load})"
        if self.bound is StopBound.P95_SECONDS:
            return f"p95 {self.value:.2f} s over {self.window_seconds:g} s > {self.limit:g} s ({load})"
        if self.bound is StopBound.SLO:
            return f"SLO clearly broken: {self.statistic} {self.value:g} > {self.limit:g} ({load})"
        if self.bound is StopBound.DURATION:
            return f"ran its {self.limit:g} s ({load})"
        return f"interrupted after {self.value:.0f} of {self.limit:g} s ({load})"


class Entry(BaseModel):
    """One endpoint's results."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str
    endpoint: str
    method: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    bytes: int


class ErrorCount(BaseModel):
    """How often one endpoint failed one way."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    method: str
    outcome: str
    count: int


class FirstByte(BaseModel):
    """A streaming endpoint's time to its first byte (bucket upper bounds, seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    count: int
    p50_seconds: float
    p95_seconds: float


class Checkpoint(BaseModel):
    """The open model's cumulative counts at one second of a readiness step (the finder differences them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at_second: float
    intended: int
    sent: int
    failed: int
    answered_ms: dict[int, int]     # answered requests' latency from the intended send time, ms -> count
    lag_counts: list[int]


class Summary(BaseModel):
    """A whole run's results (what `summary.json` holds)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    profile: str
    shape: str
    students: int
    duration_seconds: float
    elapsed_seconds: float
    stop: Stop
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    intended: int                   # requests due by the plan so far
    sent: int
    arrived: int                    # students who started a first session
    students_planned: int           # students the processes built
    lag_p50_seconds: float          # generator lag quantiles: upper bounds of their buckets (inf: beyond the last)
    lag_p99_seconds: float
    lag_mean_seconds: float
    lag_counts: list[int]
    first_byte: dict[str, FirstByte]
    entries: list[Entry]
    errors: list[ErrorCount]
    checkpoints: list[Checkpoint] = []   # only when the plan document asked (a readiness step)

    @property
    def achieved_ratio(self) -> float:
        """Sent over intended requests (0 when nothing was due)."""
        return self.sent / self.intended if self.intended else 0.0
