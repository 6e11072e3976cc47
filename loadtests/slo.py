"""A platform's service-level objective: latency percentiles and an error ratio it must stay within.

Written on the command line as comma-separated bounds, e.g. "p95<800ms,errors<1%": each latency
statistic (p50, p95, p99) takes a time in ms or s, `errors` a percentage or a ratio of requests
refused or failed. Latencies in seconds, the error bound a ratio 0-1.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.errors import CoreError

LATENCY_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
BOUND = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|<)\s*(.*?)\s*$")
LATENCY = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)$")
PERCENT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*%$")
RATIO = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)$")
MAX_LATENCY_SECONDS = 600.0


class Slo(BaseModel):
    """Upper bounds on latency percentiles (seconds) and on the ratio of requests refused or failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p50_seconds: float | None = Field(default=None, gt=0, le=MAX_LATENCY_SECONDS)
    p95_seconds: float | None = Field(default=None, gt=0, le=MAX_LATENCY_SECONDS)
    p99_seconds: float | None = Field(default=None, gt=0, le=MAX_LATENCY_SECONDS)
    error_ratio: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _bounds_something(self) -> "Slo":
        if self.error_ratio is None and not self.latency_bounds():
            raise ValueError("an SLO bounds at least one of p50, p95, p99, errors")
        return self

    def latency_bounds(self) -> dict[float, float]:
        """Quantile (0-1) -> the latency it must stay within, seconds; only the bounded statistics."""
        bounds = {"p50": self.p50_seconds, "p95": self.p95_seconds, "p99": self.p99_seconds}
        return {LATENCY_QUANTILES[name]: seconds for name, seconds in bounds.items() if seconds is not None}

    def met_by(self, quantile_seconds: dict[float, float], error_ratio: float) -> bool:
        """Whether measured latency quantiles (quantile -> seconds) and an error ratio are within every bound."""
        if self.error_ratio is not None and error_ratio > self.error_ratio:
            return False
        return all(quantile_seconds[q] <= bound for q, bound in self.latency_bounds().items())

    def __str__(self) -> str:
        latencies = (("p50", self.p50_seconds), ("p95", self.p95_seconds), ("p99", self.p99_seconds))
        parts = [f"{name}<{seconds * 1000:g}ms" for name, seconds in latencies if seconds is not None]
        if self.error_ratio is not None:
            parts.append(f"errors<{self.error_ratio * 100:g}%")
        return ",".join(parts)


def parse_slo(text: str, option: str = "--slo") -> Slo:
    """Read "p95<800ms,errors<1%" into an Slo; CoreError naming the option and the bad bound otherwise."""
    fields: dict[str, float] = {}
    clauses = text.split(",") if text.strip() else []
    if not clauses:
        raise CoreError.one("command line", option, text, 'give bounds such as "p95<800ms,errors<1%"')
    for clause in clauses:
        match = BOUND.match(clause)
        if not match:
            raise CoreError.one("command line", option, clause.strip(),
                                'each bound is statistic<value, e.g. "p95<800ms" or "errors<1%"')
        name, _, value = match.groups()
        name = name.lower()
        if name in LATENCY_QUANTILES:
            key, number = f"{name}_seconds", _latency_seconds(value, clause, option)
        elif name == "errors":
            key, number = "error_ratio", _ratio(value, clause, option)
        else:
            raise CoreError.one("command line", option, clause.strip(),
                                f"unknown statistic {name!r}; known: {', '.join([*LATENCY_QUANTILES, 'errors'])}")
        if key in fields:
            raise CoreError.one("command line", option, clause.strip(), f"{name} is bounded twice")
        fields[key] = number
    return Slo(**fields)


def _latency_seconds(value: str, clause: str, option: str) -> float:
    match = LATENCY.match(value)
    if not match:
        raise CoreError.one("command line", option, clause.strip(),
                            "a latency bound is a time with its unit, e.g. 800ms or 1.5s")
    seconds = float(match.group(1)) * (0.001 if match.group(2) == "ms" else 1.0)
    if not 0 < seconds <= MAX_LATENCY_SECONDS:
        raise CoreError.one("command line", option, clause.strip(),
                            f"a latency bound must be above 0 and at most {MAX_LATENCY_SECONDS:g} s")
    return seconds


def _ratio(value: str, clause: str, option: str) -> float:
    if match := PERCENT.match(value):
        ratio = float(match.group(1)) / 100
    elif match := RATIO.match(value):
        ratio = float(match.group(1))
    else:
        raise CoreError.one("command line", option, clause.strip(),
                            "an error bound is a percentage (1%) or a ratio (0.01)")
    if not 0 < ratio <= 1:
        raise CoreError.one("command line", option, clause.strip(),
                            "an error bound must be above 0 % and at most 100 %")
    return ratio
