"""What a load-test run is asked for: a validated model, read from a YAML file and the command line.

Every key of the model is documented in deploy/loadtest.example.yaml. The command line overrides
the file; a refused value is named by the option it came from (`--duration`) or by the file and
key (`loadtest.yaml: duration_seconds`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.config import load_yaml_model
from core.errors import CoreError, Problem, problems_from_pydantic
from loadtests.profile import PlatformKind
from loadtests.shapes import ShapeName

RUN_LENGTH_UNITS = {"s": 1, "m": 60, "h": 3600}
MIN_RUN_SECONDS, MAX_RUN_SECONDS = 5, 24 * 3600


def parse_run_length(text: str) -> float:
    """'90s', '10m', '1h' or bare seconds -> seconds (5 s to 24 h); ValueError otherwise."""
    value = str(text).strip().lower()
    unit = RUN_LENGTH_UNITS.get(value[-1:], None)
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise ValueError("must be seconds or a number with s, m or h") from None
    if not MIN_RUN_SECONDS <= seconds <= MAX_RUN_SECONDS:
        raise ValueError("must be 5 s to 24 h")
    return seconds


class RunOptions(BaseModel):
    """What `mektepnet loadtest run` (or `plan`) was asked for; defaults are the command's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: Path | None = None                  # platform profile YAML; None: the embedded local one
    registry: Path | None = None                 # school registry CSV; None: a synthetic national one
    shape: ShapeName = "first-bell"
    duration_seconds: float = 600.0              # also "90s", "10m", "1h"
    students: int | None = Field(default=None, ge=1, le=10_000_000)  # None: the registry's times `scale`
    scale: float = Field(default=0.001, gt=0, le=10)
    ramp_seconds: float | None = Field(default=None, ge=0)
    kinds: frozenset[PlatformKind] | None = None  # None: every kind of the profile
    workers: int = Field(default=2, ge=0, le=256)  # worker processes here; 0 runs the users in one local process
    users_per_worker: int = Field(default=200, ge=1, le=20_000)  # the pool of senders in each process
    remote_workers: int = Field(default=0, ge=0, le=10_000)  # workers joining from other machines
    headless: bool = False
    confirm_targets: tuple[str, ...] = ()        # non-loopback hosts of the profile's allow_hosts, confirmed
    target: str | None = None                    # aim at this base URL instead of the profile's targets
    metrics_port: int = Field(default=9650, ge=0, le=65535)  # 0: no /metrics
    metrics_host: str = "127.0.0.1"
    master_port: int = Field(default=5557, ge=1, le=65535)
    master_bind_host: str = "127.0.0.1"          # a LAN address when workers join from other machines
    web_port: int = Field(default=8089, ge=1, le=65535)
    seed: int = 1
    run_dir: Path = Path("loadtest-run")
    simulator: bool = True                       # start the simulator on loopback targets where nothing listens

    @field_validator("duration_seconds", mode="before")
    @classmethod
    def _run_length(cls, value: object) -> float:
        if isinstance(value, bool):
            raise ValueError("must be seconds or a number with s, m or h")
        return parse_run_length(value) if isinstance(value, (str, int, float)) else value


    @field_validator("kinds", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple, set, frozenset)):
            known = {kind.value for kind in PlatformKind}
            for kind in value:
                if kind not in known:
                    raise ValueError(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(known))}")
        return value or None


def run_options(path: Path | None = None, overrides: dict[str, object] | None = None,
                option_names: dict[str, str] | None = None) -> RunOptions:
    """The file's options (defaults without one) with `overrides` on top; CoreError names the option or key.

    `option_names` maps a field to the command-line option that set it, so a refused override is
    named as the operator typed it.
    """
    base = load_yaml_model(path, RunOptions).model_dump(exclude_unset=True) if path is not None else {}
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    try:
        return RunOptions.model_validate({**base, **overrides})
    except ValidationError as exc:
        problems = []
        for problem in problems_from_pydantic(exc, path or "command line"):
            key = problem.field.split(".")[0]
            if key in overrides:
                name = (option_names or {}).get(key, key)
                problem = Problem("command line", name, overrides[key], problem.message)
            problems.append(problem)
        raise CoreError(problems) from None
