"""A readiness run's result: every step of the curve and the verdict, as a model written to and read from JSON.

Rates in requests/s (the platform's arrival rate), latencies in seconds from the intended send time
over answered requests, ratios 0-1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import CoreError, problems_from_pydantic


class StepStatus(StrEnum):
    """How one step of arrival rate came out."""

    MET = "met"                          # within the SLO (point estimates)
    BROKEN = "broken"                    # outside it
    GENERATOR_BOUND = "generator-bound"  # the load generator, not the platform, was the limit: no verdict


class Verdict(StrEnum):
    """What the search found."""

    KNEE = "knee"                          # the SLO holds below the readiness and breaks above it
    BROKEN_AT_LOWEST = "broken-at-lowest"  # broken already at the lowest step: no sustainable rate was found
    GENERATOR_BOUND = "generator-bound"    # the generator could not drive the rate that decides it
    ABOVE_CAP = "above-cap"                # met at the highest rate the profile's caps allow
    NOT_BRACKETED = "not-bracketed"        # the budget ran out with every step met


class StepResult(BaseModel):
    """One step: the rate asked and achieved, its latency and errors over the steady window, the generator's state."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    intended_rps: float                 # the rate the step was planned at
    achieved_rps: float                 # sent per second over the measured window
    students: int
    warm_up_seconds: float              # discarded
    window_seconds: float               # measured
    requests: int                       # answered + failed in the window
    p50_seconds: float
    p95_seconds: float
    p99_seconds: float
    error_ratio: float
    sent_ratio: float                   # sent / intended in the window
    lag_p50_seconds: float
    lag_p99_seconds: float
    margin: float                       # max over the SLO's bounds of log(statistic / bound); <= 0 within
    margin_upper: float                 # the same with every statistic at the top of its 95 % interval
    margin_lower: float                 # ... at the bottom
    status: StepStatus
    stopped_early: bool                 # the SLO was clearly broken before the step's end
    wall_seconds: float                 # the step's cost, processes' start included


class Readiness(BaseModel):
    """The verdict on one platform and the curve it was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    platform: str
    kind: str
    profile: str
    slo: str
    verdict: Verdict
    requests_per_second: float          # the highest sustainable rate (KNEE); a lower bound otherwise (0: none)
    interval_low_rps: float             # 95 % uncertainty interval of the readiness
    interval_high_rps: float            # inf when nothing above was measured clearly broken
    sessions_per_second: float
    students_in_session: float          # Little's law: students whose sessions send that rate
    session_seconds: float              # mean session length, the pauses within it included
    think_seconds: float
    p95_at_readiness_seconds: float     # measured at the highest step within the SLO (0: none)
    first_bell_peak_rps: float          # the platform's demand at the country's first bell (scale 1)
    share_of_first_bell_peak: float     # readiness / that peak
    max_rps: float                      # the highest rate the profile's caps allow a step
    budget_seconds: float
    elapsed_seconds: float
    seed: int
    reason: str                         # one sentence for people
    steps: list[StepResult]
    finished_at: datetime = Field(default_factory=lambda: datetime.now(UTC))   # when the search ended (UTC)


def write_readiness(result: Readiness, path: Path) -> Path:
    """Write the result as JSON; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(indent=1), encoding="utf-8")
    return path


def read_readiness(path: Path, option: str = "--readiness") -> Readiness:
    """Read a readiness result file; CoreError naming the option and the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CoreError.one("command line", option, str(path), f"cannot read it: {exc.strerror}") from None
    try:
        return Readiness.model_validate_json(text)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, path)) from None
