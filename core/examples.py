"""Example measurements: one school's results over some school days at stated link qualities.

Deterministic (a seed), in school hours from the calendar, so the demo, the documentation and the
tests can show a verdict without a fleet; simulating the national fleet is the collector's job.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.measurement import Kind, Measurement
from core.school import School
from core.school_calendar import SchoolCalendar

EXAMPLE_SERVER = "ndt7.example.kz"
EXAMPLE_PING_TARGET = "ping.example.kz"


@dataclass(frozen=True)
class LinkQuality:
    """What the example link delivers: speeds in bit/s, delays in seconds, loss as a ratio."""

    download_bps: float
    upload_bps: float
    rtt_seconds: float = 0.040
    jitter_seconds: float = 0.005
    loss_ratio: float = 0.0


def example_measurements(school: School, link: LinkQuality, calendar: SchoolCalendar, first: date, days: int,
                         *, probe_id: str = "probe-1", throughput_per_day: int = 3,
                         latency_interval: timedelta = timedelta(minutes=15), seed: int = 0) -> list[Measurement]:
    """Download, upload and latency results of `school` on its school days among `days` days from `first`.

    Values scatter ±10 % around the link's figures; throughput tests run at random moments of the
    school hours, latency trains at a fixed interval.
    """
    rng = random.Random(f"{school.school_id}/{probe_id}/{seed}")
    records: list[Measurement] = []
    for offset in range(days):
        shifts = calendar.school_hours(school, first + timedelta(days=offset))
        if not shifts:
            continue
        for _ in range(throughput_per_day):
            start, end = rng.choice(shifts)
            moment = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds() - 30))
            records.append(_throughput(school, probe_id, Kind.DOWNLOAD, moment, link.download_bps, rng))
            records.append(_throughput(school, probe_id, Kind.UPLOAD, moment + timedelta(seconds=11),
                                       link.upload_bps, rng))
        for start, end in shifts:
            moment = start
            while moment < end:
                records.append(_latency(school, probe_id, moment, link, rng))
                moment += latency_interval
    return sorted(records, key=lambda m: m.start)


def _scatter(rng: random.Random, value: float) -> float:
    return value * rng.uniform(0.9, 1.1)


def _common(school: School, probe_id: str, kind: Kind, start: datetime, seconds: float, rng: random.Random) -> dict:
    return {
        "measurement_id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "school_id": school.school_id,
        "probe_id": probe_id,
        "kind": kind,
        "start": start,
        "end": start + timedelta(seconds=seconds),
        "clock_offset_seconds": round(rng.uniform(-0.05, 0.05), 4),
        "probe_version": "example",
    }


def _throughput(school: School, probe_id: str, kind: Kind, start: datetime, bps: float,
                rng: random.Random) -> Measurement:
    throughput = _scatter(rng, bps)
    return Measurement(
        **_common(school, probe_id, kind, start, 10.0, rng),
        values={"throughput_bps": round(throughput), "transferred_bytes": round(throughput * 10 / 8),
                "duration_seconds": 10.0},
        target=EXAMPLE_SERVER, method="ndt7", method_version="v7",
    )


def _latency(school: School, probe_id: str, start: datetime, link: LinkQuality, rng: random.Random) -> Measurement:
    rtt = _scatter(rng, link.rtt_seconds)
    return Measurement(
        **_common(school, probe_id, Kind.LATENCY, start, 10.0, rng),
        values={"rtt_min_seconds": round(rtt * 0.9, 6), "rtt_median_seconds": round(rtt, 6),
                "rtt_p95_seconds": round(rtt * 1.3, 6), "jitter_seconds": round(_scatter(rng, link.jitter_seconds), 6),
                "loss_ratio": link.loss_ratio, "packets_sent": 20},
        target=EXAMPLE_PING_TARGET, method="icmp-raw", method_version="1",
    )


@dataclass(frozen=True)
class ExampleCase:
    """One school of the demo week: what its link delivers and how many days its probe reported."""

    school: School
    link: LinkQuality
    days_reported: int
    story: str


def example_cases(schools: list[School]) -> list[ExampleCase]:
    """Pick schools from a registry that show each kind of verdict; skip a story no school fits."""
    stories = (
        (lambda s: s.locality == "urban" and s.contracted_bps >= 50e6,
         lambda s: LinkQuality(s.contracted_bps * 0.8, s.contracted_bps * 0.4), 5,
         "city school on a good contract"),
        (lambda s: s.locality == "urban" and s.contracted_bps <= 8e6,
         lambda s: LinkQuality(s.contracted_bps * 0.9, s.contracted_bps * 0.3), 5,
         "city school whose director bought 8 Mbit/s"),
        (lambda s: s.locality == "rural" and not s.ungraded and s.contracted_bps == 8e6,
         lambda s: LinkQuality(7.5e6, 2e6, rtt_seconds=0.060), 5,
         "rural school that meets the rural norm but not the urban one"),
        (lambda s: s.locality == "rural" and not s.ungraded and s.contracted_bps == 4e6,
         lambda s: LinkQuality(3.6e6, 0.9e6, rtt_seconds=0.090, jitter_seconds=0.04, loss_ratio=0.03), 5,
         "rural school on a lossy 4 Mbit/s line"),
        (lambda s: s.isp.endswith("(satellite)"),
         lambda s: LinkQuality(1.8e6, 0.6e6, rtt_seconds=0.650, jitter_seconds=0.06), 5,
         "border school on a satellite link"),
        (lambda s: s.ungraded and s.contracted_bps >= 4e6,
         lambda s: LinkQuality(3.8e6, 1e6), 1,
         "ungraded school whose probe reported one day only"),
    )
    cases, used = [], set()
    for fits, link, days, story in stories:
        school = next((s for s in schools if fits(s) and s.school_id not in used), None)
        if school is not None:
            used.add(school.school_id)
            cases.append(ExampleCase(school, link(school), days, story))
    return cases
