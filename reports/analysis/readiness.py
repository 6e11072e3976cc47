"""A platform's readiness, as the latest load-test result states it: the `readiness.json` that
`mektepnet loadtest readiness` writes, or a small YAML or JSON file with the same figures."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from core.config import load_yaml_model


class Readiness(BaseModel):
    """The concurrent students a platform takes before its p95 latency or error rate breaks the SLO."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    platform: str = Field(min_length=1)
    concurrent_students: int = Field(ge=0, validation_alias=AliasChoices("concurrent_students",
                                                                          "students_in_session"))
    concurrent_students_low: int | None = Field(default=None, ge=0)
    concurrent_students_high: int | None = Field(default=None, ge=0)
    measured_on: date = Field(validation_alias=AliasChoices("measured_on", "finished_at"))

    @field_validator("concurrent_students", mode="before")
    @classmethod
    def _whole_students(cls, value: object) -> object:
        return round(value) if isinstance(value, float) else value

    @field_validator("measured_on", mode="before")
    @classmethod
    def _day_of(cls, value: object) -> object:
        if isinstance(value, str) and "T" in value:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value.date() if isinstance(value, datetime) else value


def load_readiness(path: str | Path) -> Readiness:
    """Read a readiness result (YAML or JSON); raise CoreError naming the field on bad input."""
    return load_yaml_model(Path(path), Readiness)
