"""The open model inside one Locust process: students are entries in a schedule, not a greenlet each.

A dispatcher greenlet hands each student to the pool of Locust users when its next request is due;
a user sends it on the student's own connection and reports, through `events.request`, the time from
the *intended* send to the answer, so a platform's queueing shows in full (no coordinated
omission). The next intended time is drawn from the journey's pauses when the step is scheduled; if
the answer comes later than that, the next request goes at once and its latency starts from when it
was intended. The generator's own lag (ready to send -> sent) is counted apart. Runs under gevent.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import gevent
from gevent.queue import Queue

from core.timezone import almaty
from loadtests.client import Connection, RequestFailed
from loadtests.journeys import Journey, Pause, journeys, pause_seconds
from loadtests.plan import Plan
from loadtests.profile import Platform

# Generator lag buckets, seconds (classic Prometheus buckets; the target is p99 <= 5 ms).
LAG_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Request latency buckets, seconds: the exported histograms and the streams' first bytes.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DISPATCH_TICK_SECONDS = 0.05
REQUEST_TIMEOUT_SECONDS = 60.0
USER_AGENT = b"User-Agent: mektepnet-loadtest (synthetic student)\r\n"


@dataclass
class Tally:
    """What one process counted since its run started (sent to the master, summed there)."""

    intended: int = 0
    sent: int = 0
    arrived: int = 0
    in_session: int = 0
    students: int = 0
    lag_counts: list[int] = field(default_factory=lambda: [0] * (len(LAG_BUCKETS) + 1))
    lag_sum: float = 0.0
    failed: int = 0
    # Answered (not failed) requests: latency from the intended send time in ms, rounded as Locust rounds -> count
    answered_ms: dict[int, int] = field(default_factory=dict)
    # Streaming answers: "platform:endpoint" -> [counts per REQUEST_BUCKETS bucket..., sum of seconds]
    first_bytes: dict[str, list[float]] = field(default_factory=dict)

    def lag(self, seconds: float) -> None:
        """Count one request's generator lag."""
        self.lag_counts[bisect.bisect_left(LAG_BUCKETS, seconds)] += 1
        self.lag_sum += seconds

    def answer(self, seconds: float, failed: bool) -> None:
        """Count one request's outcome; an answered one's latency (s) goes into `answered_ms`."""
        if failed:
            self.failed += 1
            return
        key = rounded_ms(seconds * 1000)
        self.answered_ms[key] = self.answered_ms.get(key, 0) + 1

    def first_byte(self, name: str, seconds: float) -> None:
        """Count a streaming answer's time from the intended send to its first body byte."""
        counts = self.first_bytes.setdefault(name, [0] * (len(REQUEST_BUCKETS) + 2))
        counts[bisect.bisect_left(REQUEST_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def as_dict(self) -> dict:
        """A plain dict for Locust's report messages."""
        return {"intended": self.intended, "sent": self.sent, "arrived": self.arrived, "in_session": self.in_session,
                "students": self.students, "lag_counts": list(self.lag_counts), "lag_sum": self.lag_sum,
                "failed": self.failed, "answered_ms": dict(self.answered_ms),
                "first_bytes": {name: list(counts) for name, counts in self.first_bytes.items()}}


def rounded_ms(milliseconds: float) -> int:
    """A latency in ms rounded as Locust keeps it: to 1 ms below 100, to 10 ms below 1,000, to 100 ms above."""
    if milliseconds < 100:
        return round(milliseconds)
    if milliseconds < 1000:
        return round(milliseconds, -1)
    return round(milliseconds, -2)


def lag_quantile(lag_counts: list[int], q: float, bounds: tuple[float, ...] = LAG_BUCKETS) -> float:
    """The upper bound of the bucket holding quantile q (seconds); inf when beyond the last bucket."""
    total = sum(lag_counts)
    if not total:
        return 0.0
    running = 0
    for bound, count in zip((*bounds, float("inf")), lag_counts):
        running += count
        if running >= q * total:
            return bound
    return float("inf")


class Student:
    """One synthetic student's state: where they are in their journey and their open connection."""

    __slots__ = ("number", "platform_name", "platform", "journey", "index", "due", "ready_at", "leave", "conn", "sessions")

    def __init__(self, number: int, platform_name: str, platform: Platform, arrive: float, leave: float):
        self.number, self.platform_name, self.platform = number, platform_name, platform
        self.journey: Journey | None = None
        # due and leave are seconds of the run until the schedule starts its clock, then perf_counter times
        self.index, self.due, self.ready_at, self.leave, self.conn = 0, arrive, arrive, leave, None
        self.sessions = 0


class ArrivalSchedule:
    """One process's students, their due times, and the dispatcher that releases them to the user pool."""

    def __init__(self, plan: Plan, targets: list[str], worker_index: int = 0, workers: int = 1,
                 rate_cap: float | None = None, seed: int = 1, clock=time.perf_counter):
        self.plan, self.clock, self.rng = plan, clock, random.Random(seed * 7919 + worker_index)
        self.tally = Tally()
        self.ready: Queue = Queue()
        self.stopped = False
        self._workers = workers
        self._sequence = itertools.count()
        self._addresses = [(urlsplit(t).hostname, urlsplit(t).port or 80) for t in targets]
        self._hosts = [urlsplit(t).netloc for t in targets]
        self._token_interval = 1.0 / rate_cap if rate_cap else 0.0
        self._journeys = {name: _weighted(journeys(p.kind, plan.shape.quarter_end)) for name, p in plan.platforms.items()}
        today = datetime.now(almaty()).date()
        monday = today - timedelta(days=today.weekday())
        self._days = {"today": today.isoformat(), "week_start": monday.isoformat(),
                      "week_end": (monday + timedelta(days=6)).isoformat()}
        platforms = plan.platforms
        students = [Student(a.number, a.platform, platforms[a.platform], a.arrive_seconds, a.leave_seconds)
                    for a in plan.arrivals(worker_index, workers)]
        # The run's clock starts once the students are built, so building them is not counted as lag.
        self.start = self._next_token = clock()
        for student in students:
            student.due = student.ready_at = self.start + student.due
            student.leave += self.start
        self._heap: list = [(s.due, next(self._sequence), s) for s in students]
        self._due: list[float] = [s.due for s in students]  # every send time, counted when it comes due
        heapq.heapify(self._heap)
        heapq.heapify(self._due)
        self.tally.students = len(students)
        self._in_flight: set[Student] = set()
        self._dispatcher = gevent.spawn(self._dispatch)

    def stop(self) -> None:
        """Stop dispatching and close every open connection (waiting, queued or in flight)."""
        self.stopped = True
        self._dispatcher.kill(block=False)
        queued = []
        while not self.ready.empty():
            queued.append(self.ready.get_nowait())
        for student in [entry[2] for entry in self._heap] + queued + list(self._in_flight):
            if student.conn is not None:
                student.conn.close()

    def abandon(self, student: Student) -> None:
        """End a student's session after an unexpected error; they come back after a think time."""
        self._in_flight.discard(student)
        if student.conn is not None:
            student.conn.close()
            student.conn = None
        if student.journey is not None:
            student.journey = None
            self.tally.in_session -= 1
        due = self.clock() + self.rng.expovariate(1 / student.platform.think_seconds)
        if due < student.leave:
            student.ready_at = due
            self._push(student, due)

    def take(self) -> Student:
        """The next student due, blocking the calling user until one is."""
        return self.ready.get()

    def _push(self, student: Student, due: float) -> None:
        student.due = due
        heapq.heappush(self._heap, (due, next(self._sequence), student))
        heapq.heappush(self._due, due)

    def _dispatch(self) -> None:
        heap, due, ready, clock = self._heap, self._due, self.ready, self.clock
        while True:
            now = clock()
            while due and due[0] <= now:
                heapq.heappop(due)
                self.tally.intended += 1
            while heap and heap[0][0] <= now:
                if self._token_interval:
                    if self._next_token > now:
                        break
                    # a burst after an idle spell is at most a tenth of a second's worth of the cap
                    self._next_token = max(self._next_token + self._token_interval, now - 0.1)
                _, _, student = heapq.heappop(heap)
                ready.put(student)
            wait = heap[0][0] - now if heap else DISPATCH_TICK_SECONDS
            if self._token_interval and heap:
                wait = max(wait, self._next_token - now)
            gevent.sleep(min(max(wait, 0.0), DISPATCH_TICK_SECONDS))

    def execute(self, student: Student, fire) -> None:
        """Send the student's due request, report it through `fire` (events.request.fire), schedule the next."""
        if student.journey is None:
            self._begin_session(student)
        step = student.journey.steps[student.index]
        platform = student.platform
        endpoint = platform.endpoints[step.endpoint]
        self._in_flight.add(student)
        if student.conn is None:
            # number // workers: a worker's students are number % workers, so spread the rest over the targets
            slot = (student.number // self._workers) % len(self._addresses)
            student.conn = Connection(self._addresses[slot], self._hosts[slot])
        path = platform.prefix + self._fill(endpoint.path, student)
        headers = USER_AGENT + (f"Access-Token: synthetic-{student.number}\r\n".encode() if student.index else b"")
        sent_at = self.clock()
        self.tally.lag(sent_at - student.ready_at)
        self.tally.sent += 1
        failure = None
        body_bytes, first_byte_at = 0, 0.0
        try:
            status, body_bytes, first_byte_at = student.conn.request(endpoint.method, path, endpoint.request_bytes,
                                                                   headers, REQUEST_TIMEOUT_SECONDS)
            if status >= 400:
                failure = RequestFailed(f"http_{status}")
        except RequestFailed as exc:
            failure = exc
        done_at = self.clock()
        name = f"{student.platform_name}:{step.endpoint}"
        fire(request_type=endpoint.method, name=name, response_time=(done_at - student.due) * 1000,
             response_length=body_bytes, exception=failure, context={})
        self.tally.answer(done_at - student.due, failure is not None)
        if endpoint.stream_seconds and first_byte_at and failure is None:
            self.tally.first_byte(name, first_byte_at - student.due)
        self._in_flight.discard(student)
        self._next(student, step.pause if failure is None else Pause.END, done_at)

    def _next(self, student: Student, pause: Pause, now: float) -> None:
        step = student.journey.steps[student.index]
        gap = pause_seconds(step if pause is step.pause else _ending(step), student.platform, self.rng,
                            student.due - self.start)
        due = student.due + gap
        if pause is Pause.END:
            student.conn.close()
            student.conn, student.journey = None, None
            self.tally.in_session -= 1
            if due >= student.leave:
                return
        else:
            student.index += 1
        student.ready_at = max(due, now)
        self._push(student, due)

    def _begin_session(self, student: Student) -> None:
        cumulative, chosen = self._journeys[student.platform_name]
        student.journey = chosen[bisect.bisect_left(cumulative, self.rng.random() * cumulative[-1])]
        student.index = 0
        self.tally.in_session += 1
        if not student.sessions:
            self.tally.arrived += 1
        student.sessions += 1

    def _fill(self, template: str, student: Student) -> str:
        if "{" not in template:
            return template
        n = student.number
        return template.format(person=1_000_000 + n, user=2_000_000 + n, group=n // 25, school=n // 500,
                               lesson=(n // 25) * 1000 + student.index, file=n % 5000, course=n % 60,
                               video=n % 400, segment=student.index, exam=n // 1000, question=student.index,
                               chat=n, **self._days)


def _ending(step):
    return type(step)(step.endpoint, Pause.END)


def _weighted(chosen: tuple[Journey, ...]) -> tuple[list[float], tuple[Journey, ...]]:
    return list(itertools.accumulate(j.weight for j in chosen)), chosen
