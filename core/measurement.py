"""The Measurement record: one result of one probe, values in base units (bit/s, seconds, bytes, ratios)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from uuid import UUID

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from core.errors import CoreError, Problem, problems_from_pydantic
from core.school import SchoolId

MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_CHARS = 512
MAX_CLOCK_OFFSET_SECONDS = 100 * 365.25 * 86400     # a century: any real clock, and every corrected time a date


class Kind(StrEnum):
    """What was measured. Throughput is one record per direction."""

    DOWNLOAD = "download"
    UPLOAD = "upload"
    LATENCY = "latency"
    DNS = "dns"
    HTTP = "http"
    SNMP = "snmp"


@dataclass(frozen=True)
class ValueSpec:
    """A value a kind may carry: its unit (in its name's suffix) and an upper bound where one exists."""

    required: bool = False
    upper_bound: float | None = None


_RATIO = ValueSpec(upper_bound=1.0)
_THROUGHPUT = {
    "throughput_bps": ValueSpec(required=True),          # goodput as ndt7 defines it (application bytes / time)
    "min_rtt_seconds": ValueSpec(),                       # kernel TCP_INFO MinRTT during the test
    "loaded_rtt_seconds": ValueSpec(),                    # median RTT sampled while the transfer ran
    "idle_rtt_seconds": ValueSpec(),                      # RTT just before the transfer (bufferbloat baseline)
    "retransmission_ratio": _RATIO,
    "transferred_bytes": ValueSpec(),
    "duration_seconds": ValueSpec(),
    "probe_interface_bps": ValueSpec(),                   # the probe host's own other traffic during the test
}

VALUES: dict[Kind, dict[str, ValueSpec]] = {
    Kind.DOWNLOAD: _THROUGHPUT,
    Kind.UPLOAD: _THROUGHPUT,
    Kind.LATENCY: {
        "rtt_min_seconds": ValueSpec(),
        "rtt_median_seconds": ValueSpec(),
        "rtt_p95_seconds": ValueSpec(),
        "jitter_seconds": ValueSpec(),                    # mean absolute difference of consecutive RTTs
        "loss_ratio": ValueSpec(required=True, upper_bound=1.0),
        "packets_sent": ValueSpec(),
    },
    Kind.DNS: {"resolution_seconds": ValueSpec(required=True)},
    Kind.HTTP: {
        "status_code": ValueSpec(required=True, upper_bound=599),
        "dns_seconds": ValueSpec(),
        "connect_seconds": ValueSpec(),
        "tls_seconds": ValueSpec(),
        "first_byte_seconds": ValueSpec(),
        "total_seconds": ValueSpec(required=True),
        "body_bytes": ValueSpec(),
    },
    Kind.SNMP: {
        "in_bps": ValueSpec(),
        "out_bps": ValueSpec(),
        "in_utilisation_ratio": ValueSpec(),              # rate / contracted bandwidth; may exceed 1
        "out_utilisation_ratio": ValueSpec(),
        "in_errors_per_second": ValueSpec(),
        "out_errors_per_second": ValueSpec(),
        "in_discards_per_second": ValueSpec(),
        "interval_seconds": ValueSpec(),                  # between the two counter readings
        "oper_up": ValueSpec(upper_bound=1.0),
    },
}


EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _instant_utc(value: datetime) -> datetime:
    """An aware time in UTC, refused outside 2000-2099 (year 1 with an offset cannot even be turned into UTC)."""
    try:
        utc = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError(f"{value.isoformat()} is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"{utc.isoformat()} is outside 2000-2099")
    return utc


def _storable(text: str) -> str:
    """Text every store can keep: no NUL (PostgreSQL refuses it), no lone surrogate (JSON's "\\udfff" is not a
    character, and UTF-8 cannot carry it)."""
    if "\x00" in text:
        raise ValueError(f"a NUL character at position {text.index(chr(0))} cannot be stored")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{ascii(text[exc.start])} at position {exc.start} is a lone surrogate, "
                             "not a character") from None
    return text


# A string of a record: any text but NUL and lone surrogates.
Text = Annotated[str, AfterValidator(_storable)]

# A point in time on the wire: timezone-aware, kept in UTC, within 2000-2099.
Instant = Annotated[AwareDatetime, AfterValidator(_instant_utc)]


class Measurement(BaseModel):
    """One probe result. Times are UTC; the clock offset is the probe's clock minus the reference clock.

    `clock_offset_seconds` is None when the probe did not know its clock (no RTC, no sync yet): such a
    result is kept but never counted in a verdict. A failed measurement carries `error` and may lack
    the kind's required values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    measurement_id: UUID
    school_id: SchoolId
    probe_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Kind
    start: Instant
    end: Instant
    clock_offset_seconds: float | None
    values: dict[Text, float] = Field(default_factory=dict)
    attributes: dict[Text, Text] = Field(default_factory=dict, max_length=MAX_ATTRIBUTES)
    target: Text = Field(min_length=1, max_length=256)       # ndt7 server, host or URL measured against
    method: Text = Field(min_length=1, max_length=64)         # e.g. 'ndt7', 'icmp-raw', 'tcp-connect'
    method_version: Text = Field(min_length=1, max_length=32)
    probe_version: Text = Field(min_length=1, max_length=32)
    error: Text | None = Field(default=None, max_length=1024)

    @field_validator("clock_offset_seconds")
    @classmethod
    def _finite_offset(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number of seconds or null")
        if value is not None and abs(value) > MAX_CLOCK_OFFSET_SECONDS:
            raise ValueError(f"must be within ±{MAX_CLOCK_OFFSET_SECONDS:.0f} s (a century) or null")
        return value

    @field_validator("attributes")
    @classmethod
    def _short_attributes(cls, attributes: dict[str, str]) -> dict[str, str]:
        for name, text in attributes.items():
            if len(name) > 64 or len(text) > MAX_ATTRIBUTE_CHARS:
                raise ValueError(f"attribute {name[:64]!r} is too long (name <= 64, value <= {MAX_ATTRIBUTE_CHARS} chars)")
        return attributes

    @model_validator(mode="after")
    def _consistent(self) -> "Measurement":
        if self.end < self.start:
            raise ValueError(f"end {self.end.isoformat()} is before start {self.start.isoformat()}")
        specs = VALUES[self.kind]
        for name, value in self.values.items():
            spec = specs.get(name)
            if spec is None:
                raise ValueError(f"values.{name}: not a value of kind {self.kind.value!r} "
                                 f"(expected some of {', '.join(specs)})")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"values.{name}={value}: must be a finite, non-negative number")
            if spec.upper_bound is not None and value > spec.upper_bound:
                raise ValueError(f"values.{name}={value}: above its bound {spec.upper_bound:g}")
        if self.error is None:
            missing = [name for name, spec in specs.items() if spec.required and name not in self.values]
            if missing:
                raise ValueError(f"values: kind {self.kind.value!r} requires {', '.join(missing)} unless 'error' is set")
        return self

    @property
    def local_clock_known(self) -> bool:
        """True when the probe knew its clock offset at the time of measurement."""
        return self.clock_offset_seconds is not None


def parse_measurement(record: object, source: str, row: int | None = None) -> Measurement | list[Problem]:
    """Validate one record; return the Measurement, or the problems that refuse it."""
    try:
        return Measurement.model_validate(record)
    except ValidationError as exc:
        return problems_from_pydantic(exc, source, row)


def read_measurements(path: str | Path) -> list[Measurement]:
    """Read a JSON Lines file of measurements; refuse it whole, listing every bad line."""
    path = Path(path)
    if not path.is_file():
        raise CoreError.one(path, "path", str(path), "no such file")
    measurements: list[Measurement] = []
    problems: list[Problem] = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem(str(path), "(json)", line.strip()[:40], f"not JSON: {exc.msg}", line_number))
                continue
            parsed = parse_measurement(record, str(path), line_number)
            if isinstance(parsed, list):
                problems.extend(parsed)
            else:
                measurements.append(parsed)
    if problems:
        raise CoreError(problems)
    return measurements


def write_measurements(path: str | Path, measurements: list[Measurement]) -> None:
    """Write measurements as JSON Lines, one record a line."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for measurement in measurements:
            handle.write(measurement.model_dump_json() + "\n")
