"""A platform's readiness, as the latest load-test result states it (a small YAML or JSON file)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from core.config import load_yaml_model


class Readiness(BaseModel):
    """The concurrent students a platform takes before its p95 latency or error rate breaks the SLO."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    platform: str = Field(min_length=1)
    concurrent_students: int = Field(ge=0)
    concurrent_students_low: int | None = Field(default=None, ge=0)
    concurrent_students_high: int | None = Field(default=None, ge=0)
    measured_on: date


def load_readiness(path: str | Path) -> Readiness:
    """Read a readiness result (YAML or JSON); raise CoreError naming the field on bad input."""
    return load_yaml_model(Path(path), Readiness)
