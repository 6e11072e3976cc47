"""Putting a simulated fleet's history into the centre: straight into a store, or through the ingest API.

Through the API, every simulated school is a real client: it is enrolled with a one-time code (the
operator's step, done in the collector's store), then posts its batches with the probe's own HTTP
client under the probe's retry policy (probes.retry), with a bounded number of probes sending at once.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import multiprocessing.util
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, timedelta

from collectors import enrolment
from collectors.exporter import Verdicts
from collectors.ingest import quarantined
from collectors.maintenance import day_judge, roll_up_all
from collectors.simulator import FleetSimulator
from collectors.store import DayJudge, Store, local_day
from collectors.store.rollups import result_row
from core.batch import MAX_BATCH_RECORDS, UploadBatch
from core.measurement import Kind, Measurement
from core.norms import Policy
from core.statistics import nearest_rank
from probes.http1 import TRANSPORT_ERRORS, json_request, request
from probes.retry import BUSY_STATUSES, RetryPolicy

RETRY = RetryPolicy(initial_seconds=1.0, max_seconds=60.0)

ROLLED_PER_WRITE = 500                  # school-days rolled up from memory per transaction
SCHOOLS_PER_TASK = 50                   # schools per task (at most) when a history is loaded by several processes
Progress = Callable[[int], None]        # called with the number of records just handled


@dataclass
class UploadReport:
    """What an upload achieved: records by outcome, acknowledgement latencies (seconds), wall time."""

    records: dict[str, int] = field(default_factory=lambda: {"accepted": 0, "duplicate": 0, "rejected": 0})
    latencies: list[float] = field(default_factory=list)
    refusals: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        """A percentile (`share` 0-1, nearest rank) of the acknowledgement latencies in seconds; 0 for none."""
        return nearest_rank(sorted(self.latencies), share) if self.latencies else 0.0


@dataclass(frozen=True)
class HistoryPlan:
    """How a history goes into a store: its days (from `first`), the first day stored raw (`cut`, YYYY-MM-DD),
    the arrival time (unix seconds) an unknown clock's results are filed by, and the collector's bound."""

    first: date
    days: int
    cut: str
    now: float
    max_clock_offset: float
    policies: tuple[Policy, ...]
    chunk: int


def into_store(simulator: FleetSimulator, store: Store, first: date, days: int, policies: Sequence[Policy],
               max_clock_offset: float = 120.0, on_progress: Progress = lambda n: None, chunk: int = 5000,
               raw_days: int | None = None, workers: int = 1) -> int:
    """Put the history into `store` and roll it up and judge its days against `policies` the way the live
    collector does (the registry in `schools`, a verdict per policy per school-day); returns the records handled.

    With `raw_days`, only the results filed under the last `raw_days` days (or later: an unknown clock's are
    filed under the day they arrive) are stored raw and rolled up from the store; the days before are rolled
    up and judged from memory by the same code (`roll_up_day`) and only their roll-ups and verdicts stored.
    With `workers` > 1, that many processes share the schools, each with its own connection to the store.
    """
    store.sync_schools(simulator.registry)
    cut = (first + timedelta(days=days - min(days if raw_days is None else raw_days, days))).isoformat()
    plan = HistoryPlan(first, days, cut, time.time(), max_clock_offset, tuple(policies), chunk)
    school_ids = [school.school_id for school in simulator.registry]
    if workers <= 1:
        handled = _load(simulator, store, plan, school_ids, on_progress)
    else:
        handled = _load_in_processes(simulator, store.url, plan, school_ids, workers, on_progress)
        roll_up_all(store, _judges(simulator, store, plan))     # whatever a worker's last pass left
    return handled


def _judges(simulator: FleetSimulator, store: Store, plan: HistoryPlan) -> list[DayJudge]:
    return [day_judge(Verdicts(store, simulator.registry, policy, simulator.calendar)) for policy in plan.policies]


def _load(simulator: FleetSimulator, store: Store, plan: HistoryPlan, school_ids: Sequence[str],
          on_progress: Progress) -> int:
    """Generate the schools' days; store the raw ones and put the roll-ups of the others, then roll up what
    got raw results; returns the records."""
    judges = _judges(simulator, store, plan)
    whole = set(Kind) if any(not judge.kinds for judge in judges) else {Kind(k) for j in judges for k in j.kinds}
    raw: list[Measurement] = []
    raw_held: list[bool] = []
    rolled, handled = [], 0
    for school in (simulator.registry[school_id] for school_id in school_ids):
        by_day: dict[str, list] = {}
        for day in (plan.first + timedelta(days=offset) for offset in range(plan.days)):
            stored = day.isoformat() >= plan.cut
            results = simulator.day(school, day) if stored else simulator.sketched_day(school, day, whole)
            records = results if stored else None
            for index, m in enumerate(results):
                held, filed = quarantined(m, plan.max_clock_offset), local_day(m, plan.now)
                if filed < plan.cut:
                    by_day.setdefault(filed, []).append(result_row(m, held))
                else:           # filed under a raw day (an unknown clock's: the day it arrives): the whole record
                    records = simulator.day(school, day) if records is None else records
                    raw.append(records[index])
                    raw_held.append(held)
            handled += len(results)
            on_progress(len(results))
        rolled += [(school.school_id, day, rows) for day, rows in by_day.items()]
        if len(raw) >= plan.chunk:
            store.insert(raw, raw_held)
            raw, raw_held = [], []
        if len(rolled) >= ROLLED_PER_WRITE:
            store.put_rolled_up(rolled, judges)
            rolled = []
    store.insert(raw, raw_held)
    store.put_rolled_up(rolled, judges)
    roll_up_all(store, judges)                  # the raw days stored so far, as the collector's pass does
    return handled


def _load_in_processes(simulator: FleetSimulator, url: str, plan: HistoryPlan, school_ids: list[str], workers: int,
                       on_progress: Progress) -> int:
    """`_load` in `workers` processes, a few schools per task; on an error (Ctrl-C in `on_progress` too) the
    tasks not begun are cancelled and the running ones finished before it is raised."""
    context = multiprocessing.get_context("spawn")          # the caller may run threads (the demo's collector)
    with ProcessPoolExecutor(workers, context, _start_worker, (simulator, url, plan)) as pool:
        size = max(1, min(SCHOOLS_PER_TASK, len(school_ids) // (4 * workers)))     # each worker gets several
        tasks = [pool.submit(_load_in_worker, school_ids[start:start + size]) for start in range(0, len(school_ids), size)]
        handled = 0
        try:
            for task in as_completed(tasks):
                handled += task.result()
                on_progress(task.result())
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return handled


_worker: tuple[FleetSimulator, Store, HistoryPlan] | None = None


def _start_worker(simulator: FleetSimulator, url: str, plan: HistoryPlan) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)            # Ctrl-C is the parent's to handle
    store = Store(url)
    multiprocessing.util.Finalize(store, store.close, exitpriority=10)
    _worker = (simulator, store, plan)


def _load_in_worker(school_ids: list[str]) -> int:
    simulator, store, plan = _worker
    return _load(simulator, store, plan, school_ids, lambda n: None)


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


async def send_batches(url: str, probes: dict[str, tuple[str, str]], batches: dict[str, list[tuple[int, bytes]]],
                       concurrency: int = 64, on_progress: Progress = lambda n: None) -> UploadReport:
    """Each school posts its batches in order; at most `concurrency` schools send at once.

    `probes` maps school id -> (probe id, token); `batches` school id -> its (record count, JSON body) batches,
    encoded beforehand so that the sender measures the collector, not its own serialisation.
    """
    report, gate = UploadReport(), asyncio.Semaphore(concurrency)
    began = time.perf_counter()

    async def school(school_id: str) -> None:
        _, token = probes[school_id]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        async with gate:
            for count, body in batches[school_id]:
                failures = 0
                while True:
                    sent = time.perf_counter()
                    try:
                        answer = await asyncio.wait_for(
                            request("POST", f"{url}/api/v1/measurements", body, headers), 120)
                    except TRANSPORT_ERRORS:
                        await asyncio.sleep(RETRY.backoff_seconds(failures))
                        failures += 1
                        continue
                    if answer.status == 200:
                        report.latencies.append(time.perf_counter() - sent)
                        for result in json.loads(answer.body)["results"]:
                            report.records[result["status"]] += 1
                        on_progress(count)
                        break
                    report.refusals[answer.status] = report.refusals.get(answer.status, 0) + 1
                    if answer.status not in BUSY_STATUSES:
                        raise RuntimeError(f"{school_id}: HTTP {answer.status} {answer.body[:300]!r}")
                    wait = RETRY.busy_seconds(answer.headers.get("retry-after"))
                    if wait is None:
                        wait, failures = RETRY.backoff_seconds(failures), failures + 1
                    await asyncio.sleep(wait)

    await asyncio.gather(*(school(school_id) for school_id in batches))
    report.seconds = time.perf_counter() - began
    return report


def encode_batches(records: list[Measurement], school_id: str, probe_id: str) -> list[tuple[int, bytes]]:
    """Records as upload batches of at most MAX_BATCH_RECORDS from the enrolled probe `probe_id`."""
    own = [record.model_copy(update={"probe_id": probe_id}) for record in records]
    chunks = [own[start:start + MAX_BATCH_RECORDS] for start in range(0, len(own), MAX_BATCH_RECORDS)]
    return [(len(chunk), UploadBatch.of(probe_id, school_id, chunk).model_dump_json().encode()) for chunk in chunks]


def prepare(simulator: FleetSimulator, url: str, db: str, first: date, days: int,
            on_progress: Progress = lambda n: None) -> tuple[dict[str, tuple[str, str]], dict[str, list]]:
    """Enrol every reporting school's probe, then generate and encode its days (objects are not kept)."""
    school_ids = [school.school_id for school in simulator.registry if school.school_id not in simulator.silent]
    probes = enrol_fleet(url, db, school_ids)
    batches: dict[str, list[tuple[int, bytes]]] = {}
    for school_id in school_ids:
        school = simulator.registry[school_id]
        records = [m for offset in range(days) for m in simulator.day(school, first + timedelta(days=offset))]
        if records:
            batches[school_id] = encode_batches(records, school_id, probes[school_id][0])
            on_progress(len(records))
    return probes, batches


def via_api(simulator: FleetSimulator, url: str, db: str, first: date, days: int, concurrency: int = 64,
            on_progress: Progress = lambda n: None) -> UploadReport:
    """Generate the days, then every school uploads them at once, as after a national outage."""
    probes, batches = prepare(simulator, url, db, first, days)
    return asyncio.run(send_batches(url, probes, batches, concurrency, on_progress))
