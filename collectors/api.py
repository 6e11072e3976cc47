"""The ingest API: enrolment, measurement batches with per-record acknowledgements, probe configuration.

Endpoints run in the server's thread pool (the store is synchronous). Every answer carries a `Date`
header (uvicorn adds it): probes learn their clock offset from it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from collectors import enrolment, ndt7_access
from collectors.fleet import serving as fleet_repository
from collectors.request_limits import AsciiJSONResponse, BodyLimit, bounded_error
from collectors.exporter import FleetExposition, Verdicts
from collectors.ingest import Bounds, Busy, IngestPool, Refused, ingest
from collectors.snmp_loop import SnmpLoop
from collectors.store import ProbeRecord, Store, unavailable
from core import __version__
from core.batch import BatchAck, RecordStatus, UploadBatch
from core.errors import CoreError
from core.metrics import instrument
from core.ratelimit import TokenBuckets
from core.registry import Registry
from core.school import SchoolId
from core.school_calendar import SchoolCalendar

MAX_BODY_BYTES = 4_000_000          # 500 records of ~2 kB each, with room
log = logging.getLogger("mektepnet.collector.api")


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

    max_body_bytes: int = MAX_BODY_BYTES          # a measurement batch
    max_other_body_bytes: int = 16_384            # enrolment and every other call
    max_clock_offset_seconds: float = 120.0
    probe_config: Path | None = None
    batches_per_token_per_hour: float = 720.0     # a batch every 5 s on average ...
    batch_burst: int = 120                        # ... with room to drain a long outbox after an outage
    max_in_flight: int = 64                       # batches being stored at once; beyond it: 503 (shedding)
    shed_retry_after_seconds: int = 10
    raw_retention_months: int = 13                # raw results older than this are refused (roll-ups are kept)
    ndt7_signing_key: Path | None = None          # PEM Ed25519 key: POST /api/v1/ndt7-token signs ndt7 access tokens
    fleet_dir: Path | None = None                 # the signed fleet repository (mektepnet fleet), served under /fleet/


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


def _store_errors() -> list[type[Exception]]:
    """The error types a store raises when it cannot serve now (answered 503 when `unavailable` says so)."""
    import sqlite3

    errors: list[type[Exception]] = [sqlite3.OperationalError]
    try:
        import psycopg
    except ImportError:
        return errors
    return [*errors, psycopg.OperationalError]


def _publish_batch_schema(app: FastAPI) -> None:
    """The measurements endpoint reads its body itself (one bad record must not refuse the batch), so
    FastAPI cannot describe it: publish the UploadBatch schema in the OpenAPI document by hand."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = generate()
            batch = UploadBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(batch.pop("$defs", {}))
            schemas["UploadBatch"] = batch
            document["paths"]["/api/v1/measurements"]["post"]["requestBody"] = {
                "required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadBatch"}}}}
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi


def create_app(store: Store, settings: IngestSettings = IngestSettings(), fleet: Fleet | None = None,
               pool: IngestPool | None = None, snmp: SnmpLoop | None = None) -> FastAPI:
    """The collector's ASGI application over `store`; with a `fleet`, also /metrics and registry checks;
    with a `pool`, batches are validated and stored in its worker processes; with `snmp`, /metrics
    shows its last sweep."""
    app = FastAPI(title="MektepNet collector", version=__version__,
                  description="Ingest API for school probes: enrolment, measurement batches, configuration; "
                              "Prometheus metrics of the fleet at /metrics.")
    version, sections = config_document(settings.probe_config)
    bounds = Bounds(settings.max_clock_offset_seconds, settings.raw_retention_months, version)
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

    @app.post("/api/v1/measurements", response_model=BatchAck, responses={
        400: {"description": "the body is not JSON"}, 401: {"description": "missing, unknown, expired or revoked token"},
        403: {"description": "not the probe's own school, or a school not in the registry"},
        413: {"description": "the body is over the size limit"}, 422: {"description": "the batch envelope is invalid"},
        429: {"description": "too many batches from this token (Retry-After)"},
        503: {"description": "the store is behind: shed, retry after Retry-After"}})
    async def measurements(request: Request, authorization: str | None = Header(default=None)) -> BatchAck:
        """Store a batch; answer per record: accepted, duplicate or rejected (with the field and value)."""
        if in_flight[0] >= settings.max_in_flight:
            # Shed before any work: the store is behind; the probe keeps its records and comes back later.
            retry = settings.shed_retry_after_seconds + random.randint(0, settings.shed_retry_after_seconds)
            raise HTTPException(503, f"the store is busy ({in_flight[0]} batches in flight); retry later",
                                headers={"Retry-After": str(retry)})
        in_flight[0] += 1
        began = time.perf_counter()
        try:
            probe = await run_in_threadpool(probe_of, authorization)     # who it is, before reading a byte of body
            try:
                body = await request.body()                             # BodyLimit bounds it
            except ClientDisconnect:
                log.info("upload of probe %s aborted by the client before its body was complete", probe.probe_id)
                return Response(status_code=400)
            with buckets_lock:
                wait = buckets.take(probe.probe_id)     # per probe token, never per IP: schools share carrier NAT
            if wait > 0:
                raise HTTPException(429, f"probe {probe.probe_id} sends batches too often; retry in "
                                         f"{math.ceil(wait)} s", headers={"Retry-After": str(math.ceil(wait))})
            if fleet is not None and probe.school_id not in fleet.registry:
                raise HTTPException(403, f"school_id={probe.school_id!r} is not in the registry")
            try:
                if pool is None:
                    ack, counts = await run_in_threadpool(ingest, store, body, probe, bounds)
                else:
                    ack, counts = await pool.ingest(body, probe, bounds)
            except Refused as refused:
                raise HTTPException(refused.status, refused.detail) from None
            except Busy as busy:
                raise HTTPException(503, busy.detail,
                                    headers={"Retry-After": str(settings.shed_retry_after_seconds)}) from None
            for status, count in counts.items():
                records_total.labels(status).inc(count)
            return Response(ack, media_type="application/json")
        finally:
            in_flight[0] -= 1
            duration.observe(time.perf_counter() - began)

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
        snmp_text = snmp.exposition().encode() if snmp is not None else b""
        repository_text = fleet_repository.exposition(settings.fleet_dir).encode()
        return Response(generate_latest(metrics) + fleet_text + snmp_text + repository_text,
                        media_type=CONTENT_TYPE_LATEST)

    app.include_router(ndt7_access.router(store, settings.ndt7_signing_key))
    fleet_repository.mount(app, settings.fleet_dir)
    _publish_batch_schema(app)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return AsciiJSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
        if not unavailable(exc):
            raise exc
        return AsciiJSONResponse({"detail": "the store is unavailable; retry later"}, 503,
                                 headers={"Retry-After": str(settings.shed_retry_after_seconds)})

    for error in _store_errors():
        app.add_exception_handler(error, _store_unavailable)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return AsciiJSONResponse({"detail": [bounded_error(error) for error in exc.errors()]}, 422)

    app.add_middleware(BodyLimit, limit_of=lambda path: settings.max_body_bytes if path == "/api/v1/measurements"
                       else settings.max_other_body_bytes)

    return app
