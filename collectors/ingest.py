"""Storing a received batch: validation, retention and clock checks, the store, the acknowledgement.

This is where the collector spends its CPU (parsing and validating ~500 records, serialising them,
writing them with their indexes), so it runs in a pool of worker processes, each with its own store
connection: several cores validate and write at once, while the API process keeps what must be one
(authentication, per-token rate limits, load shedding, counters). With no workers it runs in the
API's own thread pool, as in small deployments and most tests.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from collectors.maintenance import retention_horizon
from collectors.store import MAX_TRUSTED_OFFSET_SECONDS, ProbeRecord, Store, local_day, unavailable
from core.batch import BatchAck, RecordAck, RecordStatus, open_batch_json
from core.errors import CoreError
from core.measurement import Measurement

FUTURE_TOLERANCE_SECONDS = 300


class Refused(Exception):
    """The whole batch is refused with an HTTP status and a detail naming the field and value."""

    def __init__(self, status: int, detail: object):
        super().__init__(status, detail)        # both in args: the exception crosses process boundaries
        self.status, self.detail = status, detail


class Busy(Exception):
    """The batch was not stored, for a passing reason: the store cannot write now (disk full, database
    restarting), or the pool lost a worker (killed, out of memory) and is replacing it."""

    def __init__(self, detail: str = "an ingest worker was lost and is being replaced; retry later"):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Bounds:
    """What decides a record's fate besides its own validity."""

    max_clock_offset_seconds: float
    raw_retention_months: int
    config_version: str


def quarantined(measurement: Measurement, bound_seconds: float) -> bool:
    """Kept but out of verdicts: the probe did not know its clock, or it was off by more than the bound."""
    offset = measurement.clock_offset_seconds
    return offset is None or abs(offset) > min(bound_seconds, MAX_TRUSTED_OFFSET_SECONDS)


def ingest(store: Store, body: bytes, probe: ProbeRecord, bounds: Bounds) -> tuple[bytes, dict[str, int]]:
    """Validate and store one batch of `probe`; returns the acknowledgement (JSON) and records per status.

    Refused (400, 403, 422) when the batch as a whole cannot be read or is not the probe's own.
    """
    try:
        envelope, opened = open_batch_json(body)
    except CoreError as exc:
        raise Refused(422, [str(problem) for problem in exc.problems]) from None
    except ValueError as exc:               # not JSON, not UTF-8, or nested too deeply
        raise Refused(400, f"body: not JSON ({exc})") from None
    if (envelope.probe_id, envelope.school_id) != (probe.probe_id, probe.school_id):
        raise Refused(403, f"probe_id={envelope.probe_id!r}, school_id={envelope.school_id!r}: "
                           "a probe may only write its own school's records")
    results: list[RecordAck | None] = [item if isinstance(item, RecordAck) else None for item in opened]
    now = time.time()
    horizon = retention_horizon(bounds.raw_retention_months).isoformat()
    storable = []
    for index, item in enumerate(opened):
        if not isinstance(item, Measurement):
            continue
        corrected_end = item.end.timestamp() - (item.clock_offset_seconds or 0.0)
        if local_day(item, now) < horizon:
            results[index] = _rejected(index, item, f"end={item.end.isoformat()}: older than the raw retention "
                                                    f"({bounds.raw_retention_months} months, from {horizon})")
        elif item.clock_offset_seconds is not None and corrected_end > now + FUTURE_TOLERANCE_SECONDS:
            results[index] = _rejected(index, item, f"end={item.end.isoformat()}: in the future even after the "
                                                    f"probe's clock offset of {item.clock_offset_seconds:g} s")
        else:
            storable.append((index, item))
    try:
        stored = store.insert([item for _, item in storable],
                              [quarantined(item, bounds.max_clock_offset_seconds) for _, item in storable])
    except Exception as exc:
        if unavailable(exc):
            raise Busy(f"the store cannot take the batch now ({type(exc).__name__}: {exc}); retry later") from None
        raise
    for (index, item), new in zip(storable, stored):
        results[index] = RecordAck(index=index, measurement_id=item.measurement_id,
                                   status=RecordStatus.ACCEPTED if new else RecordStatus.DUPLICATE)
    ack = BatchAck(batch_id=envelope.batch_id, config_version=bounds.config_version, results=results)
    return ack.model_dump_json().encode(), dict(Counter(result.status.value for result in results))


def _rejected(index: int, item: Measurement, reason: str) -> RecordAck:
    return RecordAck(index=index, measurement_id=item.measurement_id, status=RecordStatus.REJECTED, reason=reason)


_worker_store: Store | None = None


def _open_store(url: str) -> None:
    global _worker_store
    _worker_store = Store(url)
    parent = os.getppid()

    def follow_parent() -> None:
        # A collector stopped by a signal exits without shutting its pool down: its workers must not linger.
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=follow_parent, name="follow-parent", daemon=True).start()


def _ingest_in_worker(body: bytes, probe: ProbeRecord, bounds: Bounds) -> tuple[bytes, dict[str, int]]:
    return ingest(_worker_store, body, probe, bounds)


def _ready() -> int:
    return os.getpid()


class IngestPool:
    """`workers` processes, each with its own connection to the store at `url`, ingesting batches."""

    def __init__(self, url: str | Path, workers: int):
        self.url, self.workers = str(url), workers
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # spawn, not fork: the API process holds database connections and threads a fork would copy.
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_open_store, initargs=(self.url,))
        for started in [pool.submit(_ready) for _ in range(self.workers)]:
            started.result(timeout=120)          # workers up and their stores open before the first batch
        return pool

    async def ingest(self, body: bytes, probe: ProbeRecord, bounds: Bounds) -> tuple[bytes, dict[str, int]]:
        """Ingest in a worker; Refused passes through; Busy if the pool broke (it is restarted)."""
        import asyncio

        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(_ingest_in_worker, body, probe, bounds))
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = await asyncio.to_thread(self._start)
            raise Busy() from None

    def close(self) -> None:
        """Stop the workers after the batches they hold."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """One worker per core, up to four (the API process, the database and the OS need the rest)."""
    return max(1, min(4, os.cpu_count() or 1))
