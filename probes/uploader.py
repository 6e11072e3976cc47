"""Sending the outbox to the collector: batches over HTTPS with the probe's token, idempotent ids.

Retries follow probes.retry (full-jitter backoff, `Retry-After` honoured), and only what the
collector acknowledged leaves the outbox. A batch refused as a whole with a 4xx is set aside with
the reason — only after retries and halving down to the one record refused (401/403 is a credential
problem that enrolment fixes, 413 is answered by halving, other 4xx are treated as passing trouble).
Every answer's `Date` header teaches the probe its clock offset.

With fallback collectors (replicas of one centre on one store) a connection failure or a 5xx moves
the uploader to the next URL, where it stays while that one answers; only after every URL has
failed once more does the backoff grow. A 429 is this probe's own rate and is never failed over.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import ssl
from pydantic import ValidationError

from core.batch import BatchAck, RecordStatus, UploadBatch
from core.measurement import Measurement, parse_measurement
from probes.clock import Clock
from probes.config import UploadSettings
from probes.http1 import TRANSPORT_ERRORS, Response, json_request
from probes.identity import Credentials
from probes.outbox import Outbox
from probes.retry import BUSY_STATUSES, RetryPolicy

log = logging.getLogger("mektepnet.probe.upload")

# Whole-batch answers that say "this batch, as sent, will not be taken" (not routing or proxy trouble).
PERMANENT_REFUSALS = frozenset({400, 409, 410, 413, 415, 422})
REFUSALS_BEFORE_NARROWING = 5


@dataclass
class UploadStats:
    """What the uploader has done since start: records by status, failures by reason, last success."""

    records: dict[str, int] = field(default_factory=lambda: {status.value: 0 for status in RecordStatus})
    failures: dict[str, int] = field(default_factory=dict)
    answers: dict[int, int] = field(default_factory=dict)       # HTTP answers by status
    last_success: float | None = None
    config_version: str | None = None

    def fail(self, reason: str) -> None:
        """Count one failed attempt."""
        self.failures[reason] = self.failures.get(reason, 0) + 1


@dataclass
class Uploader:
    """Drains `outbox` to `collector` (or, failing over, to `fallbacks`): a batch every `interval_seconds`,
    back to back while a backlog remains."""

    collector: str
    credentials: Credentials
    outbox: Outbox
    settings: UploadSettings
    clock: Clock
    tls: ssl.SSLContext | None = None
    stats: UploadStats = field(default_factory=UploadStats)
    on_config_version: Callable[[str], None] | None = None
    fallbacks: tuple[str, ...] = ()
    _active: int = 0            # index in `collectors` of the URL in use
    _batch_records: int = 0
    _failures: int = 0
    _refusals: int = 0          # consecutive whole-batch refusals of the oldest records

    def __post_init__(self) -> None:
        self._batch_records = self.settings.batch_records

    @property
    def collectors(self) -> tuple[str, ...]:
        """Every collector URL in failover order."""
        return (self.collector, *(url for url in self.fallbacks if url != self.collector))

    @property
    def active_collector(self) -> str:
        """The collector URL batches go to now."""
        return self.collectors[self._active]

    async def run(self, stop: asyncio.Event) -> None:
        """Upload until `stop` is set; returns within one request timeout of it."""
        await _wait(stop, random.uniform(0, min(5.0, self.settings.interval_seconds)))   # fleets never start together
        while not stop.is_set():
            try:
                delay = await self.upload_once()
            except Exception:                   # noqa: BLE001 - an outbox I/O error must not end uploading
                log.exception("upload round failed; retrying")
                delay = self._backoff("internal", "see the log", count=True)
            if delay is not None:
                await _wait(stop, delay)

    async def upload_once(self) -> float | None:
        """Send one batch; return None to send the next at once, else the seconds to wait."""
        stored = self.outbox.oldest(self._batch_records)
        if not stored:
            return self.settings.interval_seconds
        pending = self._readable(stored)
        if not pending:
            return None
        batch = UploadBatch.of(self.credentials.probe_id, self.credentials.school_id, [m for _, m in pending])
        sent = time.monotonic()
        try:
            answer = await json_request("POST", f"{self.active_collector}/api/v1/measurements",
                                        batch.model_dump(mode="json"), self.credentials.token, self.tls,
                                        self.settings.timeout_seconds)
        except TRANSPORT_ERRORS as exc:
            return self._fail_over("network", f"{type(exc).__name__}: {exc}")
        if date := answer.headers.get("date"):
            self.clock.learn(date, sent, time.monotonic())
        self.stats.answers[answer.status] = self.stats.answers.get(answer.status, 0) + 1
        return self._answered(answer, [measurement_id for measurement_id, _ in pending])

    def _readable(self, pending: list[tuple[uuid.UUID, dict]]) -> list[tuple[uuid.UUID, Measurement]]:
        """The pending records this version can read; one it cannot (written by another version) is set
        aside with the reason, as the collector would reject it."""
        readable = []
        for measurement_id, body in pending:
            parsed = parse_measurement(body, "outbox")
            if isinstance(parsed, Measurement):
                readable.append((measurement_id, parsed))
                continue
            reason = "; ".join(str(problem) for problem in parsed)
            log.warning("record %s is not a valid measurement, set aside: %s", measurement_id, reason)
            self.outbox.set_aside([measurement_id], reason)
            self.stats.records[RecordStatus.REJECTED.value] += 1
        return readable

    def _answered(self, answer: Response, ids: list[uuid.UUID]) -> float | None:
        status = answer.status
        if status == 200:
            return self._acknowledged(answer, ids)
        if status in BUSY_STATUSES:
            self.stats.fail("busy")
            if status == 503:
                self._next_collector()      # a replica shedding or gone: the next one, after the asked wait
            wait = self._policy().busy_seconds(answer.headers.get("retry-after"))
            return self._backoff("busy", f"HTTP {status}", count=False) if wait is None else wait
        if status in (401, 403):
            return self._backoff("unauthorized", f"HTTP {status}: the credential was refused; enrol again")
        if status == 413 and self._batch_records > 1:
            self._batch_records = max(1, self._batch_records // 2)
            self.stats.fail("too_large")
            return None
        if status in PERMANENT_REFUSALS:
            return self._refused(status, answer, ids)
        if status >= 500:
            return self._fail_over("server", f"HTTP {status}")
        return self._backoff("refused", f"HTTP {status}")

    def _refused(self, status: int, answer: Response, ids: list[uuid.UUID]) -> float | None:
        """A batch refused as a whole: retry it, then narrow it down, and set aside only one record at a time.

        A proxy's passing trouble or a collector mid-upgrade must not cost the outbox; a record the
        collector will never take is isolated by halving and kept aside with the reason.
        """
        reason = f"HTTP {status}: {answer.body[:500].decode(errors='replace')}"
        self.stats.fail("refused")
        self._refusals += 1
        if self._refusals < REFUSALS_BEFORE_NARROWING:
            return self._backoff("refused", reason, count=False)
        self._refusals = 0
        if len(ids) > 1:
            self._batch_records = max(1, len(ids) // 2)
            return None
        log.error("collector refused record %s %d times, set aside: %s", ids[0], REFUSALS_BEFORE_NARROWING, reason)
        self.outbox.set_aside(ids, reason)
        return None

    def _acknowledged(self, answer: Response, ids: list[uuid.UUID]) -> float | None:
        try:
            ack = BatchAck.model_validate_json(answer.body)
        except ValidationError as exc:
            return self._backoff("bad_answer", f"unreadable acknowledgement: {exc.errors()[0]['msg']}")
        if len(ack.results) != len(ids) or any(r.index >= len(ids) or r.measurement_id not in (None, ids[r.index])
                                               for r in ack.results):
            return self._backoff("bad_answer", "acknowledgement does not match the batch")
        for status, count in self.outbox.settle(ack).items():
            self.stats.records[status.value] += count
        for result in ack.results:
            if result.status is RecordStatus.REJECTED:
                log.warning("record %s rejected, set aside: %s", result.measurement_id, result.reason)
        self._failures, self._refusals, self.stats.last_success = 0, 0, time.time()
        self._batch_records = self.settings.batch_records
        self.stats.config_version = ack.config_version
        if self.on_config_version is not None:
            self.on_config_version(ack.config_version)
        return None

    def _fail_over(self, reason: str, detail: str) -> float:
        """A failure of the collector in use: the next one is tried; the backoff grows once per round of URLs."""
        failed = self.active_collector
        self._next_collector()
        if self.active_collector != failed:
            log.warning("collector %s failed, trying %s", failed, self.active_collector)
        return self._backoff(reason, detail)

    def _next_collector(self) -> None:
        self._active = (self._active + 1) % len(self.collectors)

    def _backoff(self, reason: str, detail: str, count: bool = True) -> float:
        """The policy's backoff after one more failure in a row."""
        if count:
            self.stats.fail(reason)
        log.warning("upload failed (%s): %s", reason, detail)
        wait = self._policy().backoff_seconds(self._failures // len(self.collectors))
        self._failures += 1
        return wait

    def _policy(self) -> RetryPolicy:
        return RetryPolicy(self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
