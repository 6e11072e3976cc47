"""The norms policy: thresholds per school category and the rules a verdict follows, from YAML."""

from __future__ import annotations

import math

from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from core.config import load_yaml_model
from core.errors import CoreError
from core.school import Category, School
from core.units import parse_bit_rate, parse_duration, parse_ratio

BitRate = Annotated[float, BeforeValidator(parse_bit_rate)]
Duration = Annotated[float, BeforeValidator(parse_duration)]
Ratio = Annotated[float, BeforeValidator(parse_ratio)]

SHIPPED_POLICIES = ("ministry", "giga-2030", "equal-norms")


class CategoryNorms(BaseModel):
    """Thresholds for one school category; a missing threshold is not checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    download_min_bps: BitRate | None = None
    upload_min_bps: BitRate | None = None
    rtt_max_seconds: Duration | None = None
    jitter_max_seconds: Duration | None = None
    loss_max_ratio: Ratio | None = None
    availability_min_ratio: Ratio | None = None


class StudentBasis(StrEnum):
    """Which students a per-student norm divides by."""

    BUSIEST_SHIFT = "busiest_shift"
    ALL = "all"


class PerStudentNorm(BaseModel):
    """A minimum download per student, for schools with more than `above_students` students."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_bps: BitRate
    above_students: int = Field(default=0, ge=0)
    basis: StudentBasis = StudentBasis.BUSIEST_SHIFT

    def applies_to(self, school: School) -> bool:
        """True when the school is large enough for the rule."""
        return school.students > self.above_students

    def students(self, school: School) -> int:
        """The number of students the download is shared by."""
        return school.busiest_shift_students if self.basis is StudentBasis.BUSIEST_SHIFT else school.students


class Statistic(StrEnum):
    """How a period's samples become one figure."""

    MEDIAN = "median"
    MEAN = "mean"
    P05 = "p05"
    P10 = "p10"
    P90 = "p90"
    P95 = "p95"


class ProbeMerge(StrEnum):
    """How the results of several probes in one school become the school's figure."""

    BEST = "best"   # each probe's own figure, then the best of them: a Wi-Fi probe must not hide a good link
    POOL = "pool"   # all probes' samples together, as if from one probe


class VerdictRules(BaseModel):
    """The stated rules of a verdict: statistic per norm, minimum samples, probe merging, clock bound."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    download: Statistic = Statistic.MEDIAN
    upload: Statistic = Statistic.MEDIAN
    rtt: Statistic = Statistic.P95
    jitter: Statistic = Statistic.MEDIAN
    loss: Statistic = Statistic.MEAN
    min_throughput_samples: int = Field(default=5, ge=1)
    min_latency_samples: int = Field(default=20, ge=1)
    merge_probes: ProbeMerge = ProbeMerge.BEST
    max_clock_offset_seconds: float = Field(default=300.0, gt=0)


SCHOOL_WEEK_DAYS = 5      # the period the policies' minimum sample counts are stated for


class Policy(BaseModel):
    """A norms policy: who holds which school to which thresholds, and how the verdict is reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str
    urban: CategoryNorms
    rural: CategoryNorms
    ungraded: CategoryNorms
    per_student: PerStudentNorm | None = None
    verdict: VerdictRules = VerdictRules()

    def over_school_days(self, days: int, stated_for: int = SCHOOL_WEEK_DAYS) -> "Policy":
        """The same policy judging `days` school days: its minimum sample counts are stated for a school
        week (`stated_for` days), so they shrink in proportion, never below one. A day-level verdict needs
        this: a probe runs ~4 throughput tests a school day, the ministry asks for 5 in a verdict."""
        rules = self.verdict
        scaled = {name: max(1, math.ceil(getattr(rules, name) * days / stated_for))
                  for name in ("min_throughput_samples", "min_latency_samples")}
        return self.model_copy(update={"verdict": rules.model_copy(update=scaled)})

    def norms_for(self, school: School) -> CategoryNorms:
        """The thresholds for the school's category."""
        return {Category.URBAN: self.urban, Category.RURAL: self.rural, Category.UNGRADED: self.ungraded}[
            school.category]


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a shipped policy by name ('ministry', 'giga-2030', 'equal-norms') or a policy file by path."""
    text = str(name_or_path)
    if text in SHIPPED_POLICIES:
        shipped = resources.files("core.data").joinpath("policies", f"{text}.yaml")
        with resources.as_file(shipped) as path:
            return load_yaml_model(path, Policy)
    path = Path(text)
    if not path.exists():
        raise CoreError.one(text, "policy", text,
                            f"neither a shipped policy ({', '.join(SHIPPED_POLICIES)}) nor an existing file")
    return load_yaml_model(path, Policy)
