"""A school as the registry describes it: place, size, shifts and contracted bandwidth (bit/s)."""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from core.regions import find_region, in_kazakhstan
from core.units import parse_bit_rate

SCHOOL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SchoolId = Annotated[str, Field(pattern=SCHOOL_ID_PATTERN)]


class Locality(StrEnum):
    """Urban or rural, as the registry records it."""

    URBAN = "urban"
    RURAL = "rural"


class Category(StrEnum):
    """The category a norms policy sets thresholds for: ungraded rural schools are their own."""

    URBAN = "urban"
    RURAL = "rural"
    UNGRADED = "ungraded"


_SHIFT = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Shift(BaseModel):
    """One shift's lesson hours, local time (Asia/Almaty)."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ends_after_start(self) -> "Shift":
        if self.end <= self.start:
            raise ValueError(f"shift ends at {self.end:%H:%M}, before it starts at {self.start:%H:%M}")
        return self

    @classmethod
    def parse(cls, text: str) -> "Shift":
        """Parse 'HH:MM-HH:MM'."""
        match = _SHIFT.match(text)
        if not match:
            raise ValueError(f"shift {text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"shift {text!r} is not a time of day")
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise ValueError(f"shift {text.strip()} ends before it starts")
        return cls(start=start, end=end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_shifts(value: object) -> object:
    if isinstance(value, str):
        parts = [part for part in value.split(";") if part.strip()]
        if not parts:
            raise ValueError("at least one shift is required, e.g. '08:00-13:30;13:45-19:00'")
        return tuple(Shift.parse(part) for part in parts)
    return value


def _parse_bool(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in {"", "-"}:
        raise ValueError("must be true or false")
    return value


class School(BaseModel):
    """One school of the registry. Speeds in bit/s, coordinates in degrees (WGS 84)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    school_id: SchoolId
    name: str = Field(min_length=1)
    region: str
    district: str = Field(min_length=1)
    locality: Locality
    ungraded: Annotated[bool, BeforeValidator(_parse_bool)]
    students: int = Field(ge=0)
    busiest_shift_students: int = Field(ge=0)
    teachers: int = Field(ge=0)
    computers: int = Field(ge=0)
    latitude: float
    longitude: float
    isp: str = Field(min_length=1)
    contracted_bps: Annotated[float, BeforeValidator(parse_bit_rate)]
    week_days: int = Field(ge=5, le=6)
    shifts: Annotated[tuple[Shift, ...], BeforeValidator(_parse_shifts)] = Field(min_length=1, max_length=3)

    @field_validator("region", mode="before")
    @classmethod
    def _known_region(cls, value: object) -> str:
        return find_region(str(value)).code

    @field_validator("latitude", "longitude")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return value

    @field_validator("longitude")
    @classmethod
    def _in_kazakhstan(cls, longitude: float, info: ValidationInfo) -> float:
        latitude = info.data.get("latitude")
        if latitude is not None and not in_kazakhstan(latitude, longitude):
            raise ValueError(f"coordinates ({latitude}, {longitude}) are outside Kazakhstan")
        return longitude

    @field_validator("busiest_shift_students")
    @classmethod
    def _not_above_students(cls, busiest: int, info: ValidationInfo) -> int:
        students = info.data.get("students")
        if students is not None and busiest > students:
            raise ValueError(f"exceeds students ({students})")
        return busiest

    @field_validator("shifts")
    @classmethod
    def _not_overlapping(cls, shifts: tuple[Shift, ...]) -> tuple[Shift, ...]:
        ordered = tuple(sorted(shifts, key=lambda shift: shift.start))
        for earlier, later in zip(ordered, ordered[1:]):
            if later.start < earlier.end:
                raise ValueError(f"shifts {earlier} and {later} overlap")
        return ordered

    @property
    def category(self) -> Category:
        """The norms category: ungraded if flagged so, else the locality."""
        return Category.UNGRADED if self.ungraded else Category(self.locality.value)

    @property
    def school_hours(self) -> tuple[time, time]:
        """From the first bell of the first shift to the end of the last shift, local time."""
        return min(s.start for s in self.shifts), max(s.end for s in self.shifts)
