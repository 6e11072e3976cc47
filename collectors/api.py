"""The ingest API: enrolment, measurement batches with per-record acknowledgements, probe configuration.

Endpoints run in the server's thread pool (the store is synchronous). Every answer carries a `Date`
header (uvicorn adds it): probes learn their clock offset from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from collectors import enrolment
from collectors.exporter import FleetExposition, Verdicts
from collectors.maintenance import retention_horizon
from collectors.store import ProbeRecord, Store, local_day
from core import __version__
from core.batch import BatchAck, RecordAck, RecordStatus, open_batch_json
from core.errors import CoreError
from core.measurement import Measurement
from core.metrics import instrument
from core.ratelimit import TokenBuckets
from core.registry import Registry
from core.school import SchoolId
from core.school_calendar import SchoolCalendar

MAX_BODY_BYTES = 4_000_000          # 500 records of ~2 kB each, with room
FUTURE_TOLERANCE_SECONDS = 300


@dataclass
class Fleet:
    """What the exporter and the registry checks need; absent when the collector runs without a registry."""

    registry: Registry
    verdicts: Verdicts
    calendar: SchoolCalendar
    max_age_seconds: float


@dataclass(frozen=True)
class IngestSettings:
    """Bounds of the ingest API: body size, clock offsets that quarantine, and the probe configuration file."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_clock_offset_seconds: float = 120.0
    probe_config: Path | None = None
    batches_per_token_per_hour: float = 720.0     # a batch every 5 s on average ...
    batch_burst: int = 120                        # ... with room to drain a long outbox after an outage
    max_in_flight: int = 64                       # batches being stored at once; beyond it: 503 (shedding)
    shed_retry_after_seconds: int = 10
    raw_retention_months: int = 13                # raw results older than this are refused (roll-ups are kept)


class EnrollRequest(BaseModel):
    """What `mektepnet probe enroll` sends."""

    model_config = ConfigDict(extra="forbid")
    school_id: SchoolId
    enrollment_code: str = Field(min_length=4, max_length=64)


def config_document(path: Path | None) -> tuple[str, dict]:
    """(version, sections) of the probe configuration served to probes; version '0' when there is none."""
    if path is None:
        return "0", {}
    text = path.read_text(encoding="utf-8")
    sections = yaml.safe_load(text) or {}
    if not isinstance(sections, dict):
        raise CoreError.one(path, "(document)", type(sections).__name__, "expected a mapping at the top level")
    return hashlib.sha256(text.encode()).hexdigest()[:12], sections


def quarantined(measurement: Measurement, bound_seconds: float) -> bool:
    """Kept but out of verdicts: the probe did not know its clock, or it was off by more than the bound."""
    offset = measurement.clock_offset_seconds
    return offset is None or abs(offset) > bound_seconds


def create_app(store: Store, settings: IngestSettings = IngestSettings(), fleet: Fleet | None = None) -> FastAPI:
    """The collector's ASGI application over `store`; with a `fleet`, also /metrics and registry checks."""
    app = FastAPI(title="MektepNet collector", version=__version__,
                  description="Ingest API for school probes: enrolment, measurement batches, configuration; "
                              "Prometheus metrics of the fleet at /metrics.")
    version, sections = config_document(settings.probe_config)
    buckets, buckets_lock = TokenBuckets(settings.batches_per_token_per_hour, settings.batch_burst), threading.Lock()
    in_flight = [0]
    metrics = CollectorRegistry(auto_describe=False)
    records_total = instrument("mektepnet_ingest_records_total", metrics)
    duration = instrument("mektepnet_ingest_request_duration_seconds", metrics,
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    for status in RecordStatus:
        records_total.labels(status.value)
    exposition = (FleetExposition(store, fleet.registry, fleet.verdicts, fleet.calendar, fleet.max_age_seconds)
                  if fleet is not None else None)

    def probe_of(authorization: str | None) -> ProbeRecord:
        scheme, _, token = (authorization or "").partition(" ")
        probe = enrolment.authenticate(store, token) if scheme.lower() == "bearer" and token else None
        if probe is None:
            raise HTTPException(401, "missing, unknown, expired or revoked token",
                                headers={"WWW-Authenticate": "Bearer"})
        return probe

    @app.post("/api/v1/enroll", status_code=201)
    def enroll(request: EnrollRequest) -> dict:
        """Trade a one-time enrolment code for a probe id and a bearer token."""
        if fleet is not None and request.school_id not in fleet.registry:
            raise HTTPException(403, f"school_id={request.school_id!r} is not in the registry")
        issued = enrolment.enroll(store, request.school_id, request.enrollment_code)
        if issued is None:
            raise HTTPException(403, f"enrollment_code is not valid for school_id={request.school_id!r} "
                                     "(unknown, already used or expired)")
        return {"probe_id": issued.probe_id, "school_id": issued.school_id, "token": issued.token,
                "expires_at": datetime.fromtimestamp(issued.expires_at, timezone.utc).isoformat(),
                "config_version": version}

    @app.post("/api/v1/measurements", response_model=BatchAck)
    async def measurements(request: Request, authorization: str | None = Header(default=None)) -> BatchAck:
        """Store a batch; answer per record: accepted, duplicate or rejected (with the field and value)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise HTTPException(413, f"content-length={declared}: the limit is {settings.max_body_bytes} bytes")
        if in_flight[0] >= settings.max_in_flight:
            # Shed before any work: the store is behind; the probe keeps its records and comes back later.
            retry = settings.shed_retry_after_seconds + random.randint(0, settings.shed_retry_after_seconds)
            raise HTTPException(503, f"the store is busy ({in_flight[0]} batches in flight); retry later",
                                headers={"Retry-After": str(retry)})
        in_flight[0] += 1
        began = time.perf_counter()
        try:
            probe = await run_in_threadpool(probe_of, authorization)     # who it is, before reading a byte of body
            body = bytearray()
            async for chunk in request.stream():                        # chunked bodies have no Content-Length
                body += chunk
                if len(body) > settings.max_body_bytes:
                    raise HTTPException(413, f"body over {settings.max_body_bytes} bytes: the limit")
            return await run_in_threadpool(_ingest, bytes(body), probe)
        finally:
            in_flight[0] -= 1
            duration.observe(time.perf_counter() - began)

    def _ingest(body: bytes, probe: ProbeRecord) -> BatchAck:
        with buckets_lock:
            wait = buckets.take(probe.probe_id)     # per probe token, never per IP: schools share carrier NAT
        if wait > 0:
            raise HTTPException(429, f"probe {probe.probe_id} sends batches too often; retry in {math.ceil(wait)} s",
                                headers={"Retry-After": str(math.ceil(wait))})
        if fleet is not None and probe.school_id not in fleet.registry:
            raise HTTPException(403, f"school_id={probe.school_id!r} is not in the registry")
        try:
            envelope, opened = open_batch_json(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPException(400, f"body: not JSON ({exc})") from None
        except CoreError as exc:
            raise HTTPException(422, [str(problem) for problem in exc.problems]) from None
        if (envelope.probe_id, envelope.school_id) != (probe.probe_id, probe.school_id):
            raise HTTPException(403, f"probe_id={envelope.probe_id!r}, school_id={envelope.school_id!r}: "
                                     "a probe may only write its own school's records")
        results: list[RecordAck | None] = [item if isinstance(item, RecordAck) else None for item in opened]
        fresh = [(index, item) for index, item in enumerate(opened) if isinstance(item, Measurement)]
        now = time.time()
        horizon = retention_horizon(settings.raw_retention_months).isoformat()
        storable = []
        for index, item in fresh:
            corrected_end = item.end.timestamp() - (item.clock_offset_seconds or 0.0)
            if local_day(item) < horizon:
                results[index] = RecordAck(index=index, measurement_id=item.measurement_id,
                                           status=RecordStatus.REJECTED,
                                           reason=f"end={item.end.isoformat()}: older than the raw retention "
                                                  f"({settings.raw_retention_months} months, from {horizon})")
            elif item.clock_offset_seconds is not None and corrected_end > now + FUTURE_TOLERANCE_SECONDS:
                results[index] = RecordAck(index=index, measurement_id=item.measurement_id,
                                           status=RecordStatus.REJECTED,
                                           reason=f"end={item.end.isoformat()}: in the future even after the "
                                                  f"probe's clock offset of {item.clock_offset_seconds:g} s")
            else:
                storable.append((index, item))
        stored = store.insert([item for _, item in storable],
                              [quarantined(item, settings.max_clock_offset_seconds) for _, item in storable])
        for (index, item), new in zip(storable, stored):
            results[index] = RecordAck(index=index, measurement_id=item.measurement_id,
                                       status=RecordStatus.ACCEPTED if new else RecordStatus.DUPLICATE)
        for status in RecordStatus:
            records_total.labels(status.value).inc(sum(1 for r in results if r.status is status))
        return BatchAck(batch_id=envelope.batch_id, config_version=version, results=results)

    @app.get("/api/v1/probe/config")
    def probe_config(authorization: str | None = Header(default=None)) -> dict:
        """The configuration sections the collector sets for probes, with their version."""
        probe_of(authorization)
        return {"version": version, "config": sections}

    @app.post("/api/v1/probe/token")
    def rotate_token(authorization: str | None = Header(default=None)) -> dict:
        """A new token for the calling probe; the one used for this call stops working."""
        issued = enrolment.rotate(store, probe_of(authorization))
        return {"probe_id": issued.probe_id, "school_id": issued.school_id, "token": issued.token,
                "expires_at": datetime.fromtimestamp(issued.expires_at, timezone.utc).isoformat(),
                "config_version": version}

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """The fleet's state and the ingest counters, in Prometheus' text format."""
        fleet_text = exposition.text().encode() if exposition is not None else b""
        return Response(generate_latest(metrics) + fleet_text, media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    return app
