"""The compliance verdict of one school over a period: meets, below, or no data, norm by norm.

Rules (the policy's `verdict` section states the parameters):
- Only results inside the school's hours on school days (Asia/Almaty) count, and only those whose
  probe knew its clock to within `max_clock_offset_seconds`.
- One figure never mixes methods or servers: each norm uses the (method, target) series with the
  most samples in the period; the other series are left out and named in the result.
- Several probes in one school: `best` takes each probe's own figure and keeps the best one (a probe
  on Wi-Fi must not hide a good link); `pool` treats all samples as one probe's.
- A norm with fewer samples than the minimum is "no data". The school is "below" if any norm is
  breached, else "no data" if any norm lacks data, else "meets".
- Availability is the share of school-hour latency trains that got at least one reply.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.measurement import Kind, Measurement
from core.norms import Policy, ProbeMerge, Statistic
from core.school import School
from core.school_calendar import SchoolCalendar
from core.timezone import to_local


class Status(StrEnum):
    """The outcome of a norm or of a whole school."""

    MEETS = "meets"
    BELOW = "below"
    NO_DATA = "no data"


@dataclass(frozen=True)
class Period:
    """Local dates (Asia/Almaty), first and last inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period ends on {self.last} before it starts on {self.first}")

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


@dataclass(frozen=True)
class NormResult:
    """One norm's figure against its threshold. Units: bit/s, seconds or ratio, as `unit` says."""

    norm: str
    statistic: str
    value: float | None
    threshold: float
    at_least: bool           # True: value must be >= threshold; False: <= threshold
    unit: str
    samples: int
    status: Status
    series: str | None       # "method @ target" the figure comes from
    left_out: int = 0        # samples of other series, not mixed in


@dataclass(frozen=True)
class Verdict:
    """A school's verdict over a period under one policy."""

    school_id: str
    policy: str
    period: Period
    status: Status
    results: tuple[NormResult, ...]

    @property
    def breaches(self) -> tuple[NormResult, ...]:
        """The norms the school is below."""
        return tuple(r for r in self.results if r.status is Status.BELOW)


@dataclass(frozen=True)
class _Norm:
    name: str
    kind: Kind
    value_name: str
    statistic: str
    threshold: float
    at_least: bool
    unit: str
    min_samples: int


def evaluate(school: School, measurements: Iterable[Measurement], policy: Policy,
             calendar: SchoolCalendar, period: Period) -> Verdict:
    """The verdict of `school` over `period` from the measurements (other schools' are ignored)."""
    rules = policy.verdict
    counted = [m for m in measurements if _counts(m, school, calendar, period, rules.max_clock_offset_seconds)]
    results = [_check(norm, counted, rules.merge_probes) for norm in _norms(policy, school)]
    results.extend(_per_student(policy, school, results))
    if any(r.status is Status.BELOW for r in results):
        status = Status.BELOW
    elif any(r.status is Status.NO_DATA for r in results):
        status = Status.NO_DATA
    else:
        status = Status.MEETS
    return Verdict(school.school_id, policy.name, period, status, tuple(results))


def summarise(values: list[float], statistic: str) -> float:
    """median, mean, success ratio or pNN (linear interpolation between closest ranks) of non-empty values."""
    ordered = sorted(values)
    if statistic == Statistic.MEAN or statistic == "success ratio":
        return math.fsum(ordered) / len(ordered)
    quantile = 0.5 if statistic == Statistic.MEDIAN else int(statistic[1:]) / 100
    position = quantile * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _counts(m: Measurement, school: School, calendar: SchoolCalendar, period: Period, max_offset: float) -> bool:
    if m.school_id != school.school_id:
        return False
    if m.clock_offset_seconds is None or abs(m.clock_offset_seconds) > max_offset:
        return False
    return to_local(m.start).date() in period and calendar.in_school_hours(school, m.start)


def _norms(policy: Policy, school: School) -> list[_Norm]:
    norms = policy.norms_for(school)
    rules = policy.verdict
    throughput, latency = rules.min_throughput_samples, rules.min_latency_samples
    candidates = [
        ("download", Kind.DOWNLOAD, "throughput_bps", rules.download, norms.download_min_bps, True, "bit/s", throughput),
        ("upload", Kind.UPLOAD, "throughput_bps", rules.upload, norms.upload_min_bps, True, "bit/s", throughput),
        ("rtt", Kind.LATENCY, "rtt_median_seconds", rules.rtt, norms.rtt_max_seconds, False, "s", latency),
        ("jitter", Kind.LATENCY, "jitter_seconds", rules.jitter, norms.jitter_max_seconds, False, "s", latency),
        ("loss", Kind.LATENCY, "loss_ratio", rules.loss, norms.loss_max_ratio, False, "ratio", latency),
        ("availability", Kind.LATENCY, "", "success ratio", norms.availability_min_ratio, True, "ratio", latency),
    ]
    return [_Norm(name, kind, value, str(stat), threshold, at_least, unit, minimum)
            for name, kind, value, stat, threshold, at_least, unit, minimum in candidates if threshold is not None]


def _sample(norm: _Norm) -> Callable[[Measurement], float | None]:
    """How one measurement becomes one sample of the norm (None: not a sample)."""
    if norm.name == "availability":
        return lambda m: 1.0 if m.error is None and m.values.get("loss_ratio", 1.0) < 1.0 else 0.0
    return lambda m: m.values.get(norm.value_name) if m.error is None else None


def _check(norm: _Norm, measurements: list[Measurement], merge: ProbeMerge) -> NormResult:
    sample = _sample(norm)
    series: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in measurements:
        if m.kind is norm.kind and (value := sample(m)) is not None:
            series[(m.method, m.target)][m.probe_id].append(value)
    if not series:
        return _result(norm, None, 0, None, 0)
    sizes = {key: sum(len(v) for v in probes.values()) for key, probes in series.items()}
    chosen = max(sorted(sizes), key=lambda key: sizes[key])
    left_out = sum(sizes.values()) - sizes[chosen]
    label = f"{chosen[0]} @ {chosen[1]}"
    probes = series[chosen]
    if merge == ProbeMerge.POOL:
        pooled = [value for values in probes.values() for value in values]
        if len(pooled) < norm.min_samples:
            return _result(norm, None, len(pooled), label, left_out)
        return _result(norm, summarise(pooled, norm.statistic), len(pooled), label, left_out)
    figures = [(summarise(values, norm.statistic), len(values)) for values in probes.values()
               if len(values) >= norm.min_samples]
    if not figures:
        return _result(norm, None, max(len(v) for v in probes.values()), label, left_out)
    value, count = (max if norm.at_least else min)(figures)
    return _result(norm, value, count, label, left_out)


def _result(norm: _Norm, value: float | None, samples: int, series: str | None, left_out: int) -> NormResult:
    if value is None:
        status = Status.NO_DATA
    elif (value >= norm.threshold) if norm.at_least else (value <= norm.threshold):
        status = Status.MEETS
    else:
        status = Status.BELOW
    return NormResult(norm.name, norm.statistic, value, norm.threshold, norm.at_least, norm.unit,
                      samples, status, series, left_out)


def _per_student(policy: Policy, school: School, results: list[NormResult]) -> list[NormResult]:
    """Download per student, from the download figure already computed (same series, same samples)."""
    rule = policy.per_student
    if rule is None or not rule.applies_to(school):
        return []
    download = next((r for r in results if r.norm == "download"), None)
    students = max(rule.students(school), 1)
    value = None if download is None or download.value is None else download.value / students
    norm = _Norm("per_student", Kind.DOWNLOAD, "throughput_bps", download.statistic if download else "median",
                 rule.min_bps, True, "bit/s", 0)
    return [_result(norm, value, download.samples if download else 0,
                    download.series if download else None, download.left_out if download else 0)]
