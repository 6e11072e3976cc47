"""Putting a simulated fleet's history into the centre: straight into a store, or through the ingest API.

Through the API, every simulated school is a real client: it is enrolled with a one-time code (the
operator's step, done in the collector's store), then posts its batches with the probe's own HTTP
client, honouring 429/503 and Retry-After, with a bounded number of probes sending at once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from collectors import enrolment
from collectors.api import quarantined
from collectors.simulator import FleetSimulator
from collectors.store import Store
from core.batch import MAX_BATCH_RECORDS
from core.measurement import Measurement
from probes.http1 import TRANSPORT_ERRORS, json_request
from probes.uploader import retry_after_seconds

Progress = Callable[[int], None]        # called with the number of records just handled


@dataclass
class UploadReport:
    """What an upload achieved: records by outcome, acknowledgement latencies (seconds), wall time."""

    records: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "rejected": 0})
    latencies: list[float] = field(default_factory=list)
    refusals: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        """A percentile of the acknowledgement latencies (nearest rank)."""
        ordered = sorted(self.latencies)
        return ordered[max(0, int(share * len(ordered) + 0.999999) - 1)] if ordered else 0.0


def into_store(simulator: FleetSimulator, store: Store, first: date, days: int, max_clock_offset: float = 120.0,
               on_progress: Progress = lambda n: None, chunk: int = 5000) -> int:
    """Write the history straight into `store` (then roll it up); returns the records written."""
    written, pending = 0, []
    for records in simulator.days(first, days):
        pending += records
        if len(pending) >= chunk:
            written += _insert(store, pending, max_clock_offset)
            on_progress(len(pending))
            pending = []
    if pending:
        written += _insert(store, pending, max_clock_offset)
        on_progress(len(pending))
    while store.roll_up():
        pass
    return written


def _insert(store: Store, records: list[Measurement], max_clock_offset: float) -> int:
    return sum(store.insert(records, [quarantined(m, max_clock_offset) for m in records]))


def enrol_fleet(url: str, db: str, school_ids: Iterable[str], concurrency: int = 32) -> dict[str, tuple[str, str]]:
    """Enrol one probe per school through the API; returns school id -> (probe id, bearer token)."""
    store = Store(db)
    try:
        codes = {school_id: enrolment.issue_code(store, school_id) for school_id in school_ids}
    finally:
        store.close()

    async def main() -> dict[str, tuple[str, str]]:
        gate = asyncio.Semaphore(concurrency)

        async def one(school_id: str, code: str) -> tuple[str, tuple[str, str]]:
            async with gate:
                answer = await json_request("POST", f"{url}/api/v1/enroll",
                                            {"school_id": school_id, "enrollment_code": code})
            if answer.status != 201:
                raise RuntimeError(f"enrolling {school_id}: HTTP {answer.status} {answer.body[:200]!r}")
            issued = json.loads(answer.body)
            return school_id, (issued["probe_id"], issued["token"])

        return dict(await asyncio.gather(*(one(s, c) for s, c in codes.items())))

    return asyncio.run(main())


async def send_batches(url: str, probes: dict[str, tuple[str, str]], batches: dict[str, list[list[dict]]],
                       concurrency: int = 64, on_progress: Progress = lambda n: None) -> UploadReport:
    """Each school posts its batches in order; at most `concurrency` schools send at once.

    `probes` maps school id -> (probe id, token); `batches` school id -> its batches of record objects.
    """
    report, gate = UploadReport(), asyncio.Semaphore(concurrency)
    began = time.perf_counter()

    async def school(school_id: str) -> None:
        probe_id, token = probes[school_id]
        async with gate:
            for records in batches[school_id]:
                body = {"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": probe_id,
                        "school_id": school_id, "sent_at": datetime.now(timezone.utc).isoformat(),
                        "measurements": records}
                while True:
                    sent = time.perf_counter()
                    try:
                        answer = await json_request("POST", f"{url}/api/v1/measurements", body, token, None, 120)
                    except TRANSPORT_ERRORS:
                        await asyncio.sleep(1)
                        continue
                    if answer.status == 200:
                        report.latencies.append(time.perf_counter() - sent)
                        for result in json.loads(answer.body)["results"]:
                            report.records[result["status"]] += 1
                        on_progress(len(records))
                        break
                    report.refusals[answer.status] = report.refusals.get(answer.status, 0) + 1
                    if answer.status not in (429, 503):
                        raise RuntimeError(f"{school_id}: HTTP {answer.status} {answer.body[:300]!r}")
                    await asyncio.sleep(retry_after_seconds(answer.headers.get("retry-after")) or 1.0)

    await asyncio.gather(*(school(school_id) for school_id in batches))
    report.seconds = time.perf_counter() - began
    return report


def batches_of(records: list[Measurement], probe_id: str) -> list[list[dict]]:
    """Records as the JSON objects of batches of at most MAX_BATCH_RECORDS, as the enrolled probe `probe_id`."""
    objects = [json.loads(record.model_dump_json()) | {"probe_id": probe_id} for record in records]
    return [objects[start:start + MAX_BATCH_RECORDS] for start in range(0, len(objects), MAX_BATCH_RECORDS)]


def via_api(simulator: FleetSimulator, url: str, db: str, first: date, days: int, concurrency: int = 64,
            on_progress: Progress = lambda n: None) -> UploadReport:
    """Generate the days, then every school uploads them at once, as after a national outage."""
    by_school: dict[str, list[Measurement]] = {}
    for records in simulator.days(first, days):
        by_school.setdefault(records[0].school_id, []).extend(records)
    probes = enrol_fleet(url, db, by_school)
    batches = {school_id: batches_of(records, probes[school_id][0]) for school_id, records in by_school.items()}
    return asyncio.run(send_batches(url, probes, batches, concurrency, on_progress))
