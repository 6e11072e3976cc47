"""The national fleet simulator: measurement history for a registry, seeded and labelled synthetic.

Each school gets a link drawn from its contract, locality and ISP (rural lines deliver less of their
contract, satellites add ~600 ms), and every school day follows the probe's schedule in the school's
own hours: latency trains, DNS and HTTPS of the platforms, throughput tests by day (slowed by the
school's own traffic in session, more where more students share the line) and at night. The fleet
has its troubles: probes that never report, days of outage, boxes with an unknown or skewed clock.
Results go straight into a store (long histories) or through the real ingest API as concurrent
probes (`via_api`). Everything derives from the seed; every record says `probe_version="synthetic"`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from core.measurement import Kind, Measurement
from core.registry import Registry
from core.schedule import DEFAULT_PLATFORMS, Schedule
from core.school import School
from core.school_calendar import SchoolCalendar
from core.timezone import almaty

SYNTHETIC = "synthetic"
EPOCH = datetime(2000, 1, 1, tzinfo=almaty())
NDT7_SERVER = "wss://ndt7.sim.edu.kz"
LEAN = Schedule(latency_interval_seconds=3600, dns_interval_seconds=3 * 3600, http_interval_seconds=3 * 3600,
                platforms=DEFAULT_PLATFORMS[:3])


class Sketch(NamedTuple):
    """A simulated result as a roll-up from memory reads it (kind, end, clock offset, values), never a record."""

    kind: Kind
    end: datetime
    clock_offset_seconds: float | None
    values: dict[str, float]
    error: None = None


# Builds one result: (school, kind, start, seconds, values, target, method, clock offset, id bits) -> the result.
Build = Callable[..., "Measurement | Sketch"]


@dataclass(frozen=True)
class Troubles:
    """Shares of the fleet with each trouble (0-1)."""

    silent: float = 0.03                # probes that never report
    outage_day: float = 0.02            # chance that a school's link is down for a whole day
    unknown_clock: float = 0.01         # boxes that never learned their clock (results quarantined)
    skewed_clock: float = 0.01          # boxes an hour off (results quarantined)


@dataclass(frozen=True)
class Link:
    """What a school's line delivers when the school is idle: bit/s, seconds, ratio."""

    download_bps: float
    upload_bps: float
    rtt_seconds: float
    loss_ratio: float
    congestion: float                   # share of the line the school's own traffic takes in session


def draw_link(school: School, rng: random.Random) -> Link:
    """The school's line, from its contract, locality and ISP."""
    rural = school.locality.value == "rural"
    efficiency = rng.uniform(0.35, 0.95) if rural else rng.uniform(0.7, 0.98)
    satellite = "satellite" in school.isp.lower()
    rtt = 0.6 + rng.uniform(0, 0.1) if satellite else (rng.uniform(0.04, 0.12) if rural else rng.uniform(0.01, 0.04))
    per_student_bps = school.contracted_bps / max(school.busiest_shift_students, 1)
    congestion = min(0.8, 0.1 + 30_000 / max(per_student_bps, 1) * 0.1)
    return Link(school.contracted_bps * efficiency, school.contracted_bps * efficiency * rng.uniform(0.25, 0.6),
                rtt, rng.uniform(0, 0.03) if rural else rng.uniform(0, 0.005), congestion)


class FleetSimulator:
    """Yields the records of every school, day by day; the same seed gives the same records."""

    def __init__(self, registry: Registry, calendar: SchoolCalendar, seed: int = 1, schedule: Schedule = Schedule(),
                 troubles: Troubles = Troubles()):
        self.registry, self.calendar, self.seed, self.schedule, self.troubles = (registry, calendar, seed, schedule,
                                                                                 troubles)
        rng = random.Random(f"fleet/{seed}")
        self.links = {s.school_id: draw_link(s, rng) for s in registry}
        self.silent = {s.school_id for s in registry if rng.random() < troubles.silent}
        self.clock = {s.school_id: ("unknown" if (draw := rng.random()) < troubles.unknown_clock else
                                    "skewed" if draw < troubles.unknown_clock + troubles.skewed_clock else "ok")
                      for s in registry}

    def probe_id(self, school_id: str) -> str:
        """The simulated probe of a school."""
        return f"sim-{school_id.lower()}"

    def day(self, school: School, day: date) -> list[Measurement]:
        """One school's records of one local day: none if its probe is silent or its link is out that day."""
        return self._day(school, day, self._measurement)

    def sketched_day(self, school: School, day: date, whole: Collection[Kind]) -> list[Measurement | Sketch]:
        """The same results as `day`, for a roll-up from memory: records of the `whole` kinds (the ones a judge
        reads) built without validation, the others only as the roll-up sees them (a Sketch)."""

        prototype = Measurement.model_construct(**self._fields(school, Kind.LATENCY, EPOCH, 0.0, {}, "-", "-", None, 0))

        def build(school: School, kind: Kind, start: datetime, seconds: float, values: dict[str, float],
                  target: str, method: str, offset: float | None, id_bits: int) -> Measurement | Sketch:
            end = start + timedelta(seconds=seconds)
            if kind not in whole:
                return Sketch(kind, end, offset, values)
            return prototype.model_copy(update={          # the school's fields shared, the record's own set
                "measurement_id": uuid.UUID(int=id_bits, version=4), "kind": kind, "start": start, "end": end,
                "clock_offset_seconds": offset, "values": values, "target": target, "method": method})

        return self._day(school, day, build)

    def _day(self, school: School, day: date, build: Build) -> list:
        rng = random.Random(f"{self.seed}/{school.school_id}/{day.isoformat()}")
        if school.school_id in self.silent or rng.random() < self.troubles.outage_day:
            return []
        link, records = self.links[school.school_id], []
        for start, end in self.calendar.school_hours(school, day):
            records += self._periodic(school, link, start, end, rng, build)
            for _ in range(max(1, self.schedule.daytime_throughput_tests // len(school.shifts))):
                moment = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
                share = 1 - link.congestion * rng.uniform(0.5, 1.0)
                records += self._throughput(school, link, moment, share, rng, build)
        for _ in range(self.schedule.night_throughput_tests):            # every night, school day or not
            night = datetime.combine(day, datetime.min.time(), almaty()) + timedelta(hours=rng.uniform(1, 5))
            records += self._throughput(school, link, night, rng.uniform(0.95, 1.0), rng, build)
        return records

    def days(self, first: date, count: int) -> Iterator[list[Measurement]]:
        """Every school's records, one (school, day) at a time."""
        for offset in range(count):
            day = first + timedelta(days=offset)
            for school in self.registry:
                records = self.day(school, day)
                if records:
                    yield records

    def _record(self, school: School, kind: Kind, start: datetime, seconds: float, values: dict, target: str,
                method: str, rng: random.Random, build: Build):
        """The record's clock offset and id drawn from `rng` (the same draws however it is built), then built."""
        clock = self.clock[school.school_id]
        offset = None if clock == "unknown" else (3600.0 + rng.uniform(-5, 5) if clock == "skewed"
                                                   else round(rng.uniform(-0.6, 0.6), 3))
        return build(school, kind, start, seconds, values, target, method, offset, rng.getrandbits(128))

    def _measurement(self, school: School, kind: Kind, start: datetime, seconds: float, values: dict[str, float],
                     target: str, method: str, offset: float | None, id_bits: int) -> Measurement:
        return Measurement(**self._fields(school, kind, start, seconds, values, target, method, offset, id_bits))

    def _fields(self, school: School, kind: Kind, start: datetime, seconds: float, values: dict[str, float],
                target: str, method: str, offset: float | None, id_bits: int) -> dict:
        return {"measurement_id": uuid.UUID(int=id_bits, version=4), "school_id": school.school_id,
                "probe_id": self.probe_id(school.school_id), "kind": kind, "start": start,
                "end": start + timedelta(seconds=seconds), "clock_offset_seconds": offset, "values": values,
                "attributes": {"synthetic": "true"}, "target": target, "method": method, "method_version": "1",
                "probe_version": SYNTHETIC}

    def _periodic(self, school: School, link: Link, start: datetime, end: datetime, rng: random.Random,
                  build: Build) -> list:
        records = []
        schedule = self.schedule
        moment = start + timedelta(seconds=rng.uniform(0, schedule.latency_interval_seconds))
        while moment < end:
            rtt = link.rtt_seconds * (1 + link.congestion * rng.uniform(0.2, 1.5))
            lost = sum(rng.random() < link.loss_ratio for _ in range(10)) / 10
            records.append(self._record(school, Kind.LATENCY, moment, 2.0, {
                "rtt_min_seconds": rtt * 0.85, "rtt_median_seconds": rtt, "rtt_p95_seconds": rtt * 1.4,
                "jitter_seconds": rtt * rng.uniform(0.05, 0.3), "loss_ratio": lost, "packets_sent": 10.0},
                "collector.edu.kz", "icmp-raw", rng, build))
            moment += timedelta(seconds=schedule.latency_interval_seconds)
        moment = start + timedelta(seconds=rng.uniform(0, schedule.http_interval_seconds))
        while moment < end:
            for platform in schedule.platforms:
                resolution = rng.uniform(0.005, 0.08)
                records.append(self._record(school, Kind.DNS, moment, resolution, {"resolution_seconds": resolution},
                                            platform, "dns-udp", rng, build))
                total = link.rtt_seconds * rng.uniform(4, 9)
                records.append(self._record(school, Kind.HTTP, moment, total, {
                    "status_code": 200.0, "dns_seconds": resolution, "connect_seconds": resolution + link.rtt_seconds,
                    "tls_seconds": resolution + 2 * link.rtt_seconds, "first_byte_seconds": total * 0.7,
                    "total_seconds": total, "body_bytes": 48_000.0}, f"https://{platform}/", "http-get", rng, build))
            moment += timedelta(seconds=schedule.http_interval_seconds)
        return records

    def _throughput(self, school: School, link: Link, moment: datetime, share: float, rng: random.Random,
                    build: Build) -> list:
        results = []
        for kind, rate in ((Kind.DOWNLOAD, link.download_bps), (Kind.UPLOAD, link.upload_bps)):
            bps = rate * share * rng.uniform(0.9, 1.05)
            results.append(self._record(school, kind, moment, 10.0, {
                "throughput_bps": bps, "transferred_bytes": bps * 10 / 8, "duration_seconds": 10.0,
                "min_rtt_seconds": link.rtt_seconds}, NDT7_SERVER, "ndt7", rng, build))
            moment += timedelta(seconds=11)
        return results
