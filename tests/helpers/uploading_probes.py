"""Many enrolled probes in one process: each commits results to its own outbox (with the oracle's ledger)
and uploads them with the real Uploader, on an event loop of a background thread, while a test hurts
the centre. Lighter than one agent process per probe, and the same outbox and uploader code.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.measurement import Kind
from probes.clock import Clock
from probes.config import UploadSettings
from probes.context import ProbeContext
from probes.http1 import json_request
from probes.identity import Credentials
from probes.outbox import Outbox
from probes.uploader import Uploader
from tests.helpers.collector import enrolled
from tests.helpers.oracle import judge, keep_ledger, outbox_state, stored_ids, wait_for

FAST = UploadSettings(batch_records=50, interval_seconds=0.2, backoff_initial_seconds=0.2, backoff_max_seconds=2.0,
                      timeout_seconds=5.0)


@dataclass
class ProbeSpec:
    """How the simulated probes behave: results per tick and tick length (seconds), their clock's error
    (seconds; None: NTP vouches for it, else learned from the collector's Date), whether they first ask
    the collector for their configuration (which teaches the clock, as the agent does when it starts),
    and upload settings."""

    records_per_tick: int = 2
    tick_seconds: float = 0.1
    clock_error_seconds: float | None = None
    learn_clock_first: bool = True
    upload: UploadSettings = FAST


@dataclass
class UploadingProbes:
    """`count` probes of schools KZ-000, KZ-001 ... (`school_prefix` 000 ...) enrolled at `urls[0]` (store `db`), uploading to `urls`
    in failover order; `start()` begins measuring and uploading, `stop_measuring()` ends the results."""

    workdir: Path
    db: str
    urls: list[str]
    count: int
    spec: ProbeSpec = field(default_factory=ProbeSpec)
    school_prefix: str = "KZ-"
    uploaders: list[Uploader] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outboxes = [self.workdir / f"probe-{self.school_prefix}{index}" / "outbox.sqlite3"
                         for index in range(self.count)]
        self.credentials: list[Credentials] = [
            enrolled(self.urls[0], self.db, f"{self.school_prefix}{index:03d}", path.parent) for index, path in enumerate(self.outboxes)]
        for path in self.outboxes:
            keep_ledger(path)
        self._measuring = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="probes", daemon=True)
        self._stop: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []

    def start(self) -> "UploadingProbes":
        """Measure and upload in the background."""
        self._thread.start()
        self._measuring.set()
        asyncio.run_coroutine_threadsafe(self._begin(), self._loop).result()
        return self

    async def _begin(self) -> None:
        """Outboxes opened, uploaders and measurers started, on the loop's thread (SQLite connections stay on it)."""
        self._stop = asyncio.Event()
        for credentials, path in zip(self.credentials, self.outboxes):
            clock = self._clock()
            uploader = Uploader(self.urls[0], credentials, Outbox(path), self.spec.upload, clock,
                                fallbacks=tuple(self.urls[1:]))
            self.uploaders.append(uploader)
            context = ProbeContext(credentials.school_id, credentials.probe_id, clock)
            if self.spec.learn_clock_first:
                await _learn_clock(self.urls[0], credentials, clock)
            self._tasks += [asyncio.create_task(uploader.run(self._stop)),
                            asyncio.create_task(self._measure(uploader.outbox, context))]

    async def _end(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        for uploader in self.uploaders:
            uploader.outbox.close()

    def _clock(self) -> Clock:
        error = self.spec.clock_error_seconds
        if error is None:
            return Clock(ntp=lambda: True)
        return Clock(wall=lambda: datetime.now(timezone.utc).timestamp() + error, ntp=lambda: False)

    async def _measure(self, outbox: Outbox, context: ProbeContext) -> None:
        while self._measuring.is_set():
            wall = datetime.fromtimestamp(context.clock.wall(), timezone.utc)
            outbox.add([context.record(Kind.LATENCY, "198.18.0.1", "tcp-connect", wall - timedelta(seconds=0.5),
                                       {"rtt_median_seconds": 0.02, "loss_ratio": 0.0, "packets_sent": 1}, end=wall)
                        for _ in range(self.spec.records_per_tick)])
            await asyncio.sleep(self.spec.tick_seconds)

    def committed(self) -> int:
        """Results committed to the outboxes so far."""
        return sum(len(outbox_state(path)[0]) for path in self.outboxes)

    def pending(self) -> int:
        """Results not yet acknowledged."""
        return sum(outbox_state(path)[1] for path in self.outboxes)

    def stop_measuring(self) -> None:
        """No more results; the uploaders go on."""
        self._measuring.clear()

    def drain(self, deadline_seconds: float) -> None:
        """Stop measuring and wait until every outbox is empty (fail after the deadline)."""
        self.stop_measuring()
        wait_for(lambda: self.pending() == 0, deadline_seconds, f"the outboxes drained (pending {self.pending()})")

    def answers(self) -> Counter:
        """HTTP answers the uploaders got, by status, plus 'network' for failed connections."""
        total: Counter = Counter()
        for uploader in self.uploaders:
            total.update(uploader.stats.answers)
            total["network"] += uploader.stats.failures.get("network", 0)
        return total

    def stop(self) -> None:
        """End the uploaders and the loop; close the outboxes."""
        if not self._thread.is_alive():
            return
        self._measuring.clear()
        if self._stop is not None:
            asyncio.run_coroutine_threadsafe(self._end(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def figures(self) -> dict:
        """The oracle's figures (committed, stored, lost, unknown, duplicated, pending, set aside) and the
        5xx answers seen."""
        answers = self.answers()
        return {**judge(self.outboxes, stored_ids(self.db)),
                "5xx": sum(count for status, count in answers.items() if status != "network" and status >= 500),
                "answers": {str(status): count for status, count in sorted(answers.items(), key=str)}}

    def __enter__(self) -> "UploadingProbes":
        return self

    def __exit__(self, *_) -> None:
        self.stop()


async def _learn_clock(url: str, credentials: Credentials, clock: Clock) -> None:
    """The agent's first call, GET /api/v1/probe/config: its `Date` header teaches the clock its offset."""
    sent = clock.monotonic()
    answer = await json_request("GET", f"{url}/api/v1/probe/config", token=credentials.token, timeout_seconds=10)
    clock.learn(answer.headers["date"], sent, clock.monotonic())
