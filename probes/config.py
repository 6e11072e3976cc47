"""The probe agent's configuration: identity, collector, jobs, throughput plan and per-protocol modules.

Validated on load (YAML → pydantic); every refusal names the field and the value. Times of day are
Asia/Almaty. deploy/probe.example.yaml documents every field.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import time as time_of_day
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.batch import MAX_BATCH_RECORDS
from core.config import load_yaml_model
from core.school import SchoolId
from core.schedule import DEFAULT_PLATFORMS, Schedule
from probes.ndt7.access import CollectorAccess
from probes.ndt7.servers import DEFAULT_MAX_BYTES, ServerEntry
from probes.probers import PROBERS
from probes.snmp.targets import SnmpCredentials

_DEFAULTS = Schedule()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IcmpModule(_Frozen):
    """A latency train: `count` probes `interval_seconds` apart; `method` auto picks raw, datagram, then TCP."""

    method: Literal["auto", "icmp-raw", "icmp-datagram", "tcp-connect"] = "auto"
    count: int = Field(default=10, ge=1, le=1000)
    interval_seconds: float = Field(default=0.2, ge=0.001, le=10)
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    payload_bytes: int = Field(default=56, ge=0, le=1400)
    tcp_port: int = Field(default=443, ge=1, le=65535)


class DnsModule(_Frozen):
    """DNS lookups against the school's resolver (None: the first nameserver of /etc/resolv.conf)."""

    resolver: str | None = None
    port: int = Field(default=53, ge=1, le=65535)
    query_type: Literal["A", "AAAA"] = "A"
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)


class HttpModule(_Frozen):
    """An HTTP(S) GET with phase timings; the body is read up to `max_body_bytes`."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_body_bytes: int = Field(default=1_000_000, ge=0)
    ca_file: Path | None = None


class Ndt7Module(_Frozen):
    """ndt7 servers (the collector may replace the list), byte cap per subtest and TLS settings."""

    servers: tuple[ServerEntry, ...] = ()
    region: str = ""                        # the school's region code and ISP, to pick the nearest server
    isp: str = ""
    max_bytes_per_subtest: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    adaptive: bool = True
    token: str | None = None
    ca_file: Path | None = None
    # Where servers that require signed tokens get them: always this probe's own collector and credential,
    # set by ProbeConfig (never read from a file, so a served configuration cannot redirect the credential).
    access: CollectorAccess | None = Field(default=None, exclude=True)


class SnmpModule(SnmpCredentials):
    """The school's router, polled on the LAN: how to speak to it, its port towards the operator's modem,
    and the contracted bandwidth that port carries (utilisation is measured against the contract, not the
    port's 100 or 1000 Mbit/s)."""

    version: Literal["v2c", "v3"] = "v2c"
    community: str | None = Field(default="public", min_length=1)
    uplink: str | None = None
    contracted_bps: float | None = Field(default=None, gt=0)
    router: str | None = None                # host[:port]: read just before and after each throughput test
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    retries: int = Field(default=1, ge=0, le=5)
    first_interval_seconds: float = Field(default=5.0, ge=1, le=60)    # the two readings of a first poll


class Module(_Frozen):
    """Settings of every protocol; each prober reads its own section."""

    icmp: IcmpModule = IcmpModule()
    dns: DnsModule = DnsModule()
    http: HttpModule = HttpModule()
    ndt7: Ndt7Module = Ndt7Module()
    snmp: SnmpModule = SnmpModule()


class Job(_Frozen):
    """A periodic job: one prober over its targets every `interval_seconds`, in school hours or always."""

    prober: str
    targets: tuple[str, ...] = Field(min_length=1)
    interval_seconds: float = Field(gt=0)
    hours: Literal["school", "always"] = "school"

    @field_validator("prober")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in PROBERS or name == "ndt7":
            known = ", ".join(sorted(set(PROBERS) - {"ndt7"}))
            raise ValueError(f"unknown periodic prober {name!r} (known: {known}; ndt7 is planned by 'throughput')")
        return name


class Window(_Frozen):
    """A daily window of local (Asia/Almaty) time; it may wrap past midnight."""

    start: time_of_day
    end: time_of_day


class ThroughputPlan(_Frozen):
    """ndt7 tests per day at random moments inside the windows, within a daily data budget (bytes)."""

    day_windows: tuple[Window, ...] = (Window(start=time_of_day(8, 30), end=time_of_day(17, 30)),)
    daytime_tests: int = Field(default=_DEFAULTS.daytime_throughput_tests, ge=0, le=48)
    night_window: Window = Window(start=time_of_day(1, 0), end=time_of_day(5, 0))
    night_tests: int = Field(default=_DEFAULTS.night_throughput_tests, ge=0, le=12)
    school_days_only: bool = True
    daily_budget_bytes: int = Field(default=1_000_000_000, ge=0)

    @model_validator(mode="after")
    def _windows_for_tests(self) -> "ThroughputPlan":
        if self.daytime_tests and not self.day_windows:
            raise ValueError(f"daytime_tests={self.daytime_tests} needs at least one of day_windows")
        return self


class SchoolHours(_Frozen):
    """First bell of the first shift to the end of the last one, and the school week."""

    start: time_of_day = time_of_day(8, 0)
    end: time_of_day = time_of_day(18, 30)
    week_days: Literal[5, 6] = 5


class UploadSettings(_Frozen):
    """Batching and retry: exponential backoff with full jitter between `backoff_*` bounds (seconds)."""

    batch_records: int = Field(default=200, ge=1, le=MAX_BATCH_RECORDS)
    interval_seconds: float = Field(default=30.0, gt=0)
    backoff_initial_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=900.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)


def default_jobs(collector_host: str) -> tuple[Job, ...]:
    """The default schedule of `core`: a latency train to the collector, DNS and HTTPS of every platform."""
    return (
        Job(prober="icmp", targets=(collector_host,), interval_seconds=_DEFAULTS.latency_interval_seconds),
        Job(prober="dns", targets=DEFAULT_PLATFORMS, interval_seconds=_DEFAULTS.dns_interval_seconds),
        Job(prober="http", targets=tuple(f"https://{host}/" for host in DEFAULT_PLATFORMS),
            interval_seconds=_DEFAULTS.http_interval_seconds),
    )


class ProbeConfig(_Frozen):
    """Everything the agent needs; `jobs` defaults to `core`'s schedule when left out."""

    collector: str
    fallback_collectors: tuple[str, ...] = ()   # other collectors of the same centre, tried in order when it fails
    school_id: SchoolId
    state_dir: Path = Path("/var/lib/mektepnet-probe")
    ca_file: Path | None = None
    school_hours: SchoolHours = SchoolHours()
    jobs: tuple[Job, ...] | None = None
    throughput: ThroughputPlan = ThroughputPlan()
    modules: Module = Module()
    upload: UploadSettings = UploadSettings()
    metrics_address: str | None = "127.0.0.1:9469"
    interface: str | None = None           # None: the interface of the default route

    @field_validator("collector")
    @classmethod
    def _https(cls, url: str) -> str:
        return _collector_url(url)

    @field_validator("fallback_collectors")
    @classmethod
    def _fallbacks(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_collector_url(url) for url in urls)

    @field_validator("metrics_address")
    @classmethod
    def _address(cls, address: str | None) -> str | None:
        if address is not None:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(f"{address!r} is not host:port")
        return address

    @model_validator(mode="after")
    def _fill_jobs(self) -> "ProbeConfig":
        if self.jobs is None:
            object.__setattr__(self, "jobs", default_jobs(urlsplit(self.collector).hostname))
        access = CollectorAccess(collector=self.collector, state_dir=self.state_dir, ca_file=self.ca_file)
        ndt7 = self.modules.ndt7.model_copy(update={"access": access})
        object.__setattr__(self, "modules", self.modules.model_copy(update={"ndt7": ndt7}))
        return self

    @property
    def collectors(self) -> tuple[str, ...]:
        """Every collector URL, `collector` first: the uploader fails over along this list."""
        return (self.collector, *(url for url in self.fallback_collectors if url != self.collector))

    def digest(self) -> str:
        """A short hash of the effective configuration, reported with every result."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def _collector_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{url!r}: the collector must be reached over https (plain http only on loopback)")
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path: str | Path) -> ProbeConfig:
    """Read and validate a probe configuration file; raise CoreError naming each bad field and value."""
    return load_yaml_model(path, ProbeConfig)
