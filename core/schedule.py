"""The probe's default measurement schedule and the volume of records it produces per school day.

Ingest, report and demo targets are derived from `records_per_school_day`, so a change of the
default schedule changes them all at once.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.measurement import Kind
from core.school import School

# The education platforms a probe checks by default (host names only; tests never contact them).
DEFAULT_PLATFORMS: tuple[str, ...] = (
    "kundelik.kz", "bilimland.kz", "daryn.online", "bilimclass.kz", "onlinemektep.org",
)


class Schedule(BaseModel):
    """How often a probe measures. Intervals in seconds; throughput tests per day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_interval_seconds: float = Field(default=300, gt=0)
    dns_interval_seconds: float = Field(default=900, gt=0)
    http_interval_seconds: float = Field(default=900, gt=0)
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    daytime_throughput_tests: int = Field(default=3, ge=0)
    night_throughput_tests: int = Field(default=1, ge=0)


def school_hours_seconds(school: School) -> float:
    """Seconds from the first bell of the first shift to the end of the last one (breaks between shifts included)."""
    first, last = school.school_hours
    return (last.hour * 3600 + last.minute * 60) - (first.hour * 3600 + first.minute * 60)


def records_per_school_day(school_hours: float, schedule: Schedule = Schedule()) -> dict[Kind, float]:
    """Records one probe produces on one school day whose school hours last `school_hours` seconds.

    Latency, DNS and HTTP run in school hours only; DNS and HTTP once per platform each time;
    every throughput test yields one download and one upload record.
    """
    platforms = len(schedule.platforms)
    throughput_tests = schedule.daytime_throughput_tests + schedule.night_throughput_tests
    return {
        Kind.LATENCY: school_hours / schedule.latency_interval_seconds,
        Kind.DNS: school_hours / schedule.dns_interval_seconds * platforms,
        Kind.HTTP: school_hours / schedule.http_interval_seconds * platforms,
        Kind.DOWNLOAD: float(throughput_tests),
        Kind.UPLOAD: float(throughput_tests),
    }
