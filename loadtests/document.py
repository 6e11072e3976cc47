"""The plan document: a run's plan built once, written as one validated JSON file, read by every Locust process.

`mektepnet loadtest run` builds it (profile, shape, students per group, duration, targets, seed),
checks it against the profile's limits and writes `plan.json`; the Locust master reads that file and
hands its text to every worker, local or remote, with the spawn message. The profile travels inside
the document, so a worker on another machine needs no file of its own. Validation refuses a document
naming the field: an unknown shape, group sizes that do not fit it, a kind the profile lacks, a target
outside the allow-list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.errors import CoreError, problems_from_pydantic
from core.registry import Registry
from loadtests.options import RunOptions
from loadtests.plan import Plan
from loadtests.profile import PlatformKind, Profile, load_profile
from loadtests.safety import approved_targets
from loadtests.shapes import SHAPES, Shape, ShapeName, group_sizes, registry_split, shape
from loadtests.slo import Slo

PLAN_FILE = "plan.json"


class StepWatch(BaseModel):
    """A readiness step's asks of the master: checkpoints of its counts, and a stop once its SLO is clearly broken."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slo: Slo
    judge_from_seconds: float = Field(default=0.0, ge=0)   # the warm-up: its arrivals' ramp overshoots the rate
    checkpoint_seconds: float = Field(default=1.0, ge=0.5, le=10)  # the watch's checks and checkpoints


class PlanDocument(BaseModel):
    """Everything a Locust process needs for its share of a run; seconds from the run's start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    profile: Profile
    shape: ShapeName
    group_sizes: tuple[int, ...]            # students of each of the shape's groups, in order
    duration_seconds: float = Field(gt=0, le=24 * 3600)
    ramp_seconds: float | None = Field(default=None, ge=0)  # steady shape: arrivals spread over this
    kinds: frozenset[PlatformKind] | None = None            # None: every platform of the profile
    regions: dict[str, int] = {}            # students by region (shown by `loadtest plan`)
    confirmed_hosts: tuple[str, ...] = ()   # non-loopback hosts the operator confirmed
    targets: tuple[str, ...] = Field(min_length=1)          # approved base URLs
    seed: int = 1
    step: StepWatch | None = None           # a readiness step (loadtests.readiness)


    @field_validator("group_sizes")
    @classmethod
    def _fit_the_shape(cls, sizes: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        chosen = SHAPES.get(info.data.get("shape", ""))
        if chosen is not None and len(sizes) != len(chosen.groups):
            raise ValueError(f"shape {chosen.name} has {len(chosen.groups)} group(s), not {len(sizes)}")
        if any(size < 0 for size in sizes) or sum(sizes) < 1:
            raise ValueError("must be students per group (none negative, at least one student)")
        return sizes

    @field_validator("duration_seconds")
    @classmethod
    def _within_the_profile(cls, seconds: float, info: ValidationInfo) -> float:
        profile = info.data.get("profile")
        if profile is not None and seconds > profile.limits.max_duration_seconds:
            raise ValueError(f"exceeds the profile's limits.max_duration_seconds "
                             f"({profile.limits.max_duration_seconds:g})")
        return seconds

    @field_validator("kinds")
    @classmethod
    def _in_the_profile(cls, kinds: frozenset[PlatformKind] | None, info: ValidationInfo):
        profile = info.data.get("profile")
        if kinds and profile is not None and not profile.only(set(kinds)):
            raise ValueError(f"profile {profile.name!r} has no platform of this kind")
        return kinds

    @field_validator("targets")
    @classmethod
    def _allowed(cls, targets: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        profile = info.data.get("profile")
        if profile is None:
            return targets
        for target in targets:
            try:
                approved_targets(profile, list(info.data.get("confirmed_hosts", ())), target)
            except CoreError as exc:
                raise ValueError(exc.problems[0].message) from None
        return tuple(target.rstrip("/") for target in targets)

    def plan(self) -> Plan:
        """The plan's arithmetic (arrivals, rate curve) for this document."""
        return Plan(self.profile, shape(self.shape), self.group_sizes, self.duration_seconds, self.ramp_seconds,
                    self.kinds, dict(self.regions))


def load_plan_document(text: str, source: str | Path) -> PlanDocument:
    """Validate a plan document's JSON text; CoreError names each bad field (`source: group_sizes=...`)."""
    try:
        return PlanDocument.model_validate_json(text)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, source)) from None


def read_plan_document(path: Path) -> PlanDocument:
    """Read and validate a plan document file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CoreError.one(path, "path", str(path), f"cannot read the plan document: {exc.strerror}") from None
    return load_plan_document(text, path)


def write_plan_document(document: PlanDocument, path: Path) -> Path:
    """Write the document as JSON; returns the path."""
    path.write_text(document.model_dump_json(indent=1), encoding="utf-8")
    return path


def students_per_group(chosen: Shape, registry: Registry, students: int | None, scale: float
                       ) -> tuple[tuple[int, ...], dict[str, int]]:
    """Students of each group and by region: the registry's times `scale`, or `students` shared the same way."""
    split = registry_split(registry, scale)
    sizes = tuple(group_sizes(chosen, split, students).values())
    if sum(sizes) <= 0:
        raise CoreError.one("command line", "--students", students or 0, "the run has no students")
    total = sum(split.by_region.values()) or 1
    regions = {region: round(count * sum(sizes) / total) for region, count in split.by_region.items()}
    return sizes, regions


def plan_document(check_limits: bool = True, **fields) -> PlanDocument:
    """A document from its fields, checked against the profile's limits (a run's); CoreError when refused."""
    try:
        document = PlanDocument.model_validate(fields)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, "plan")) from None
    if check_limits:
        document.plan().check_limits()
    return document


def build_document(options: RunOptions, registry: Registry, check_limits: bool = True) -> PlanDocument:
    """The run's plan document; CoreError when the target is refused or (`check_limits`: a run) the plan breaks a limit.

    A plan that sends nothing (`mektepnet loadtest plan`) may exceed the run caps: pass check_limits=False.
    """
    profile = load_profile(options.profile)
    targets = approved_targets(profile, list(options.confirm_targets), options.target)
    chosen = shape(options.shape)
    sizes, regions = students_per_group(chosen, registry, options.students, options.scale)
    # The plan's own checks name the command-line options (--kind, --duration, --students).
    if check_limits:
        Plan(profile, chosen, sizes, options.duration_seconds, options.ramp_seconds, options.kinds).check_limits()
    return plan_document(check_limits, profile=profile, shape=chosen.name, group_sizes=sizes,
                         duration_seconds=options.duration_seconds, ramp_seconds=options.ramp_seconds,
                         kinds=options.kinds, regions=regions, confirmed_hosts=options.confirm_targets,
                         targets=targets, seed=options.seed)
