"""The load-generator fleet a peak needs: cores, machines, memory and open files, from measured per-core figures.

The figures (requests per CPU-second per kind of journey, CPU per student in session, memory and
connections per student) are data, measured in docs/benchmarks.md and kept in
loadtests/data/generator.yaml. CPU is the requests' cost plus the students' upkeep, planned at
`core_utilisation` of each core; one Locust worker per core, and a master. Memory in bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.config import load_yaml_model
from core.errors import CoreError
from loadtests.profile import PlatformKind

DEFAULT_GENERATOR = Path(__file__).parent / "data" / "generator.yaml"


class GeneratorCapacity(BaseModel):
    """What one core of the load generator carries, and the machine a fleet is planned in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    measured: str = Field(min_length=1)
    requests_per_cpu_second: dict[PlatformKind, float]
    cpu_seconds_per_student_second: float = Field(ge=0, le=1e-3)
    core_utilisation: float = Field(default=0.7, gt=0, le=1)
    locust_bytes_per_student: int = Field(gt=0, le=1_000_000)
    process_bytes: int = Field(gt=0)
    kernel_bytes_per_connection: int = Field(ge=0, le=1_000_000)
    connections_per_student: float = Field(ge=0, le=100)
    files_per_worker: int = Field(default=200, ge=0)
    connections_per_target_port: int = Field(default=28_000, gt=0, le=65_535)
    machine_cores: int = Field(default=16, ge=1, le=1024)
    machine_memory_bytes: int = Field(gt=0)
    rig_ceiling_requests_per_second: float = Field(gt=0)

    @field_validator("requests_per_cpu_second")
    @classmethod
    def _every_kind_measured(cls, rates: dict[PlatformKind, float]) -> dict[PlatformKind, float]:
        missing = sorted(kind.value for kind in PlatformKind if kind not in rates)
        if missing:
            raise ValueError(f"every kind needs a figure; missing {', '.join(missing)}")
        if any(rate <= 0 for rate in rates.values()):
            raise ValueError("every kind's figure must be above 0")
        return rates


def load_generator_capacity(path: str | Path | None = None) -> GeneratorCapacity:
    """Read the generator's per-core figures (the embedded measured ones when None); CoreError names bad fields."""
    return load_yaml_model(path or DEFAULT_GENERATOR, GeneratorCapacity)


@dataclass(frozen=True)
class Fleet:
    """The load generators that rehearse a peak: cores, Locust processes, machines, memory, descriptors."""

    cores: int
    workers: int                   # one Locust worker per core (a master beside them)
    machines: int
    memory_bytes: int              # Locust's processes and students, and the kernel's sockets at the generators' end
    connections: int               # open connections to the platform at the peak
    open_files_per_worker: int     # the LimitNOFILE each worker needs
    target_ports_per_machine: int  # target address:port pairs so the ephemeral ports suffice


def generator_fleet(peak_rps_by_kind: Mapping[PlatformKind | str, float], students_in_session: int,
                    capacity: GeneratorCapacity | None = None) -> Fleet:
    """The fleet for a peak of requests/s per kind of platform with this many students in session at once."""
    capacity = capacity or load_generator_capacity()
    if students_in_session < 0:
        raise CoreError.one("capacity plan", "students_in_session", students_in_session, "must be 0 or more")
    request_cpu = 0.0
    for kind, rate in peak_rps_by_kind.items():
        try:
            per_cpu = capacity.requests_per_cpu_second[PlatformKind(kind)]
        except ValueError:
            known = ", ".join(k.value for k in PlatformKind)
            raise CoreError.one("capacity plan", "kind", kind, f"known kinds: {known}") from None
        if rate < 0:
            raise CoreError.one("capacity plan", f"requests_per_second.{PlatformKind(kind).value}", rate, "must be 0 or more")
        request_cpu += rate / per_cpu
    cpu = request_cpu + students_in_session * capacity.cpu_seconds_per_student_second
    cores = max(1, math.ceil(cpu / capacity.core_utilisation))
    connections = math.ceil(students_in_session * capacity.connections_per_student)
    memory = (students_in_session * capacity.locust_bytes_per_student + (cores + 1) * capacity.process_bytes
              + connections * capacity.kernel_bytes_per_connection)
    machines = max(math.ceil(cores / capacity.machine_cores), math.ceil(memory / capacity.machine_memory_bytes))
    per_machine = math.ceil(connections / machines)
    return Fleet(cores, cores, machines, memory, connections,
                 math.ceil(connections / cores) + capacity.files_per_worker,
                 max(1, math.ceil(per_machine / capacity.connections_per_target_port)))
