"""A platform profile: where the platforms are, their endpoints, payload sizes, think times and capacity.

One YAML file serves both sides: the load test's journeys read the endpoints, sizes and think times;
the platform simulator (`mektepnet platform-sim serve`) implements the same endpoints with each one's
declared capacity. Sizes in bytes, times in seconds, rates in bit/s.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config import load_yaml_model
from core.units import parse_bit_rate

DEFAULT_PROFILE = Path(__file__).parent / "data" / "local.yaml"
# Three small declared capacities whose true readiness is known (loadtests/truth.py), sized below this rig's
# ceiling: the readiness accuracy tests and benchmark, and the demo's reduced readiness check.
READINESS_PROFILE = Path(__file__).parent / "data" / "readiness.yaml"
PARAMETER = re.compile(r"\{([a-z_]+)\}")
# What a journey may put in a path: synthetic ids and Asia/Almaty dates, never a real account.
PATH_PARAMETERS = frozenset({"person", "user", "group", "school", "lesson", "file", "course", "video", "segment",
                             "exam", "question", "chat", "today", "week_start", "week_end"})


class PlatformKind(StrEnum):
    """The kinds of platform whose traffic differs (reference/platforms.md)."""

    EDIARY = "ediary"
    VIDEO = "video"
    TESTING = "testing"
    TUTOR = "tutor"
    ENDPOINT = "endpoint"  # one request per session on one endpoint: the readiness of a single API


# The endpoints each kind's journeys use (loadtests/journeys.py); a profile must define every one.
REQUIRED_ENDPOINTS: dict[PlatformKind, frozenset[str]] = {
    PlatformKind.EDIARY: frozenset({"login", "context", "schedule", "recent_marks", "homework", "homework_file",
                            "homework_upload", "children", "lessons", "log_entry", "final_marks"}),
    PlatformKind.VIDEO: frozenset({"login", "catalogue", "lesson", "manifest", "segment"}),
    PlatformKind.TESTING: frozenset({"login", "start", "question", "answer", "finish"}),
    PlatformKind.TUTOR: frozenset({"login", "chat"}),
    PlatformKind.ENDPOINT: frozenset({"request"}),
}


class ServiceTime(BaseModel):
    """A log-normal service time given by its median and 95th percentile, in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    median: float = Field(gt=0, le=60)
    p95: float = Field(gt=0, le=600)

    @model_validator(mode="after")
    def _p95_not_below_median(self) -> "ServiceTime":
        if self.p95 < self.median:
            raise ValueError(f"p95 ({self.p95}) is below the median ({self.median})")
        return self

    @property
    def sigma(self) -> float:
        """The log-normal's shape parameter."""
        return math.log(self.p95 / self.median) / 1.6449


class Capacity(BaseModel):
    """What the simulator gives an endpoint: workers, a bounded queue, a service time, a quarter-end slow path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workers: int = Field(default=64, ge=1, le=100_000)
    queue: int = Field(default=256, ge=0, le=1_000_000)
    service_seconds: ServiceTime = ServiceTime(median=0.02, p95=0.08)
    quarter_end_factor: float = Field(default=1.0, ge=1.0, le=100.0)


class Endpoint(BaseModel):
    """One endpoint: method, path template (with {parameters}), request and response sizes in bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["GET", "POST", "PUT"] = "GET"
    path: str = Field(min_length=1, max_length=300)
    request_bytes: int = Field(default=0, ge=0, le=50_000_000)
    response_bytes: int = Field(default=512, ge=0, le=50_000_000)
    # Streaming answers (the AI tutor): the body comes in chunks over this many seconds.
    stream_seconds: float = Field(default=0.0, ge=0, le=300)
    capacity: Capacity = Capacity()

    @field_validator("path")
    @classmethod
    def _known_parameters(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"path {path!r} must start with /")
        unknown = sorted(set(PARAMETER.findall(path)) - PATH_PARAMETERS)
        if unknown:
            raise ValueError(f"unknown path parameter {{{unknown[0]}}}; known: {', '.join(sorted(PATH_PARAMETERS))}")
        if "{" in PARAMETER.sub("", path) or "}" in PARAMETER.sub("", path):
            raise ValueError(f"path {path!r} has a brace that is not a {{parameter}}")
        return path

    @property
    def route(self) -> str:
        """The path template without its query string (what the simulator routes on)."""
        return self.path.split("?", 1)[0]


class Platform(BaseModel):
    """One platform: its kind, URL prefix, share of student sessions, think time and endpoints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PlatformKind
    prefix: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~-]+)*$")
    share: float = Field(default=1.0, gt=0, le=1000)
    think_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Mean pause between the calls of one screen (login -> context), and how often synchronised exams start.
    quick_seconds: float = Field(default=1.0, gt=0, le=3600)
    exam_every_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # Video: the bitrate the lesson plays at and the length of one segment.
    bitrate_bps: Annotated[float, Field(gt=0, le=100e6)] = 1_500_000
    segment_seconds: float = Field(default=4.0, gt=0, le=60)
    endpoints: dict[str, Endpoint]

    @field_validator("bitrate_bps", mode="before")
    @classmethod
    def _rate(cls, value: object) -> object:
        return parse_bit_rate(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _journeys_have_their_endpoints(self) -> "Platform":
        missing = sorted(REQUIRED_ENDPOINTS[self.kind] - set(self.endpoints))
        if missing:
            raise ValueError(f"a {self.kind} platform needs endpoints {', '.join(missing)}")
        return self

    def segment_bytes(self) -> int:
        """Bytes of one video segment at the platform's bitrate."""
        return int(self.bitrate_bps * self.segment_seconds / 8)


class StopWhen(BaseModel):
    """Bounds that stop a run by themselves, judged over a sliding window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_ratio: float = Field(default=0.5, gt=0, le=1)
    p95_seconds: float = Field(default=30.0, gt=0, le=600)
    window_seconds: float = Field(default=20.0, ge=4, le=600)  # the watch looks every 2 s
    min_requests: int = Field(default=50, ge=1)


class Limits(BaseModel):
    """Safety rails: a hard cap on the total request rate and on the duration, and the automatic stop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_requests_per_second: float = Field(default=20_000, gt=0, le=10_000_000)
    max_duration_seconds: float = Field(default=4 * 3600, gt=0, le=24 * 3600)
    stop_when: StopWhen = StopWhen()


class Profile(BaseModel):
    """The whole profile file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    # One or more base URLs; several listener ports spread a large run's connections.
    targets: list[str] = Field(min_length=1, max_length=64)
    # Hosts beyond loopback this profile may aim at; each also needs --confirm-target on the command line.
    allow_hosts: list[str] = []
    limits: Limits = Limits()
    platforms: dict[str, Platform] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _urls(cls, targets: list[str]) -> list[str]:
        for target in targets:
            if not re.fullmatch(r"http://[^/\s]+", target.rstrip("/")):
                raise ValueError(f"target {target!r} must be http://host[:port] (the simulator and staging speak HTTP)")
        return [target.rstrip("/") for target in targets]

    @field_validator("platforms")
    @classmethod
    def _names(cls, platforms: dict[str, Platform]) -> dict[str, Platform]:
        for name in platforms:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
                raise ValueError(f"platform name {name!r} must be lower-case letters, digits and _")
        return platforms

    def only(self, kinds: set[PlatformKind] | None) -> dict[str, Platform]:
        """The platforms of the given kinds (all when None)."""
        return {name: p for name, p in self.platforms.items() if kinds is None or p.kind in kinds}


SHIPPED_PROFILES = {"local": DEFAULT_PROFILE, "readiness": READINESS_PROFILE}


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and validate a profile file, or a shipped one by name (`local`, the default, or `readiness`);
    CoreError names each bad field."""
    if path is None or (str(path) in SHIPPED_PROFILES and not Path(path).exists()):
        path = SHIPPED_PROFILES[str(path or "local")]
    return load_yaml_model(path, Profile)
