"""The true readiness of a declared platform simulator, for tests: a seeded simulation of its queues.

Each endpoint of the platform simulator is an M/G/c/K queue: c workers, a log-normal service time
(times the quarter-end factor, plus the stream time of a streaming answer, which holds its worker),
K places in the queue and a refusal (503) beyond c + K. Requests reach the platform as one Poisson
stream of `arrival_rps` requests/s, each going to an endpoint with its share of the journey mix.
Latency runs from arrival to the answer's end; its percentiles are over the answered requests, the
refusal ratio over all. A refused request here is not followed by the rest of its session (the
load generator ends it), which moves the mix by at most the error bound.

This module shares no code with the load generator or the readiness finder: it reads only the
profile's declared capacities and the journeys' mix. Where a formula exists (M/M/c/K) `mmck` gives
the exact answer the simulation is checked against.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from core.errors import CoreError
from loadtests.journeys import journeys, requests_per_student_second
from loadtests.profile import Endpoint, Platform, Profile
from loadtests.slo import Slo

REQUESTS = 200_000          # simulated arrivals per rate: p95 and a 1 % refusal ratio settle well within 1 %
WARM_UP_SHARE = 0.1         # the first arrivals fill the queues from empty and are not counted
TOLERANCE = 0.005           # bisection stops when the bracket is this narrow, relative to its top
QUANTILES = (0.50, 0.95, 0.99)
Z95 = 1.6449


@dataclass(frozen=True)
class Queue:
    """One endpoint as a queue: workers, queue places, log-normal service (median s, sigma), fixed extra seconds."""

    workers: int
    queue: int
    median_seconds: float
    sigma: float
    extra_seconds: float = 0.0

    @property
    def mean_service_seconds(self) -> float:
        """Mean time a request holds its worker, seconds."""
        return self.median_seconds * math.exp(self.sigma ** 2 / 2) + self.extra_seconds


def queue_of(endpoint: Endpoint, quarter_end: bool = False) -> Queue:
    """The queue an endpoint of the simulator declares (the quarter-end factor slows the service)."""
    capacity = endpoint.capacity
    slow = capacity.quarter_end_factor if quarter_end else 1.0
    sigma = math.log(capacity.service_seconds.p95 / capacity.service_seconds.median) / Z95
    return Queue(capacity.workers, capacity.queue, capacity.service_seconds.median * slow, sigma,
                 endpoint.stream_seconds)


def endpoint_shares(platform: Platform, quarter_end: bool = False) -> dict[str, float]:
    """Share of the platform's requests that goes to each endpoint the journeys use (sums to 1)."""
    visits: dict[str, float] = {}
    for journey in journeys(platform.kind, quarter_end):
        for step in journey.steps:
            visits[step.endpoint] = visits.get(step.endpoint, 0.0) + journey.weight
    total = sum(visits.values())
    return {name: count / total for name, count in visits.items()}


def requests_per_session(platform: Platform, quarter_end: bool = False) -> float:
    """Mean requests in one session of the platform (sessions are chosen by journey weight)."""
    chosen = journeys(platform.kind, quarter_end)
    return sum(j.weight * len(j.steps) for j in chosen) / sum(j.weight for j in chosen)


def queue_latencies(arrival_seconds: np.ndarray, service_seconds: np.ndarray, workers: int,
                    queue: int) -> np.ndarray:
    """Latency (s) of each arrival at a first-come-first-served c-worker queue with `queue` places; NaN if refused."""
    free = [0.0] * workers              # a heap: when each worker is next free
    starts: list[float] = []            # start of every accepted request; never decreasing under FCFS
    waiting_from = 0                    # the first accepted request not yet started at the current arrival
    latencies: list[float] = []
    nan, heapreplace = math.nan, heapq.heapreplace
    for arrive, service in zip(arrival_seconds.tolist(), service_seconds.tolist()):
        earliest = free[0]
        if earliest > arrive:
            accepted = len(starts)
            while waiting_from < accepted and starts[waiting_from] <= arrive:
                waiting_from += 1
            if accepted - waiting_from >= queue:
                latencies.append(nan)
                continue
            start = earliest
        else:
            start = arrive
        heapreplace(free, start + service)
        starts.append(start)
        latencies.append(start + service - arrive)
    return np.asarray(latencies)


def mmck(arrival_rps: float, workers: int, queue: int, mean_service_seconds: float) -> tuple[float, float]:
    """Exact M/M/c/K: (blocking probability, mean latency of an answered request in seconds)."""
    offered = arrival_rps * mean_service_seconds
    states = np.arange(workers + queue + 1)
    # log of the unnormalised state probabilities: offered^n / n! up to c, then a geometric tail of ratio offered / c
    log_factorials = np.array([math.lgamma(n + 1) for n in range(workers + 1)])
    log_full = workers * math.log(offered) - log_factorials[-1]
    log_p = np.where(states <= workers, states * math.log(offered) - log_factorials[np.minimum(states, workers)],
                     log_full + (states - workers) * math.log(offered / workers))
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    blocking = float(p[-1])
    in_system = float((states * p).sum())
    return blocking, in_system / (arrival_rps * (1 - blocking))


@dataclass(frozen=True)
class Point:
    """The platform at one arrival rate: latency quantiles (s), refusal ratio, per endpoint and overall."""

    arrival_rps: float
    quantile_seconds: dict[float, float]
    refused_ratio: float
    endpoints: dict[str, tuple[dict[float, float], float]]   # endpoint -> (quantiles, refused ratio)

    def meets(self, slo: Slo) -> bool:
        """Whether the platform is within the SLO at this rate."""
        return slo.met_by(self.quantile_seconds, self.refused_ratio)


class Truth:
    """A platform's queues with fixed random draws (common random numbers), simulated at any arrival rate."""

    def __init__(self, platform: Platform, seed: int = 1, requests: int = REQUESTS, quarter_end: bool = False):
        self.shares = endpoint_shares(platform, quarter_end)
        self.queues = {name: queue_of(platform.endpoints[name], quarter_end) for name in self.shares}
        rng = np.random.default_rng(seed)
        # Unit-rate gaps scaled by 1/rate, so every rate sees the same arrivals, routes and service draws.
        self.unit_arrivals = np.cumsum(rng.exponential(1.0, requests))
        chosen = np.searchsorted(np.cumsum(list(self.shares.values())), rng.random(requests), side="right")
        chosen = np.minimum(chosen, len(self.shares) - 1)
        normals = rng.standard_normal(requests)
        self.counted = np.arange(requests) >= int(requests * WARM_UP_SHARE)
        self.masks = {name: chosen == index for index, name in enumerate(self.shares)}
        self.services = {name: q.median_seconds * np.exp(q.sigma * normals[self.masks[name]]) + q.extra_seconds
                         for name, q in self.queues.items()}

    def saturation_rps(self) -> float:
        """The platform arrival rate at which its busiest endpoint's workers are all busy on average, requests/s."""
        return min(q.workers / (q.mean_service_seconds * self.shares[name]) for name, q in self.queues.items())

    def at(self, arrival_rps: float) -> Point:
        """Simulate the platform at this arrival rate (requests/s)."""
        arrivals = self.unit_arrivals / arrival_rps
        latency = np.empty_like(arrivals)
        endpoints = {}
        for name, queue in self.queues.items():
            mask = self.masks[name]
            latency[mask] = queue_latencies(arrivals[mask], self.services[name], queue.workers, queue.queue)
            endpoints[name] = _summary(latency[mask & self.counted])
        quantiles, refused = _summary(latency[self.counted])
        return Point(arrival_rps, quantiles, refused, endpoints)


def _summary(latency: np.ndarray) -> tuple[dict[float, float], float]:
    if not len(latency):
        return {q: 0.0 for q in QUANTILES}, 0.0
    answered = latency[~np.isnan(latency)]
    quantiles = np.quantile(answered, QUANTILES) if len(answered) else np.full(len(QUANTILES), math.inf)
    return dict(zip(QUANTILES, map(float, quantiles))), 1 - len(answered) / len(latency)


@dataclass(frozen=True)
class TrueReadiness:
    """The highest arrival rate within the SLO, bracketed to `tolerance`, and the platform there."""

    platform: str
    slo: str
    requests_per_second: float        # the SLO holds here (0 when it is broken at any rate)
    broken_at_rps: float              # and is broken here: the bracket's top
    tolerance: float
    sessions_per_second: float
    students_in_session: float        # Little's law: students whose journeys send that rate
    at_readiness: Point | None
    seed: int
    requests: int


def true_readiness(profile: Profile, platform: str, slo: Slo, seed: int = 1, requests: int = REQUESTS,
                   tolerance: float = TOLERANCE, quarter_end: bool = False) -> TrueReadiness:
    """Highest platform arrival rate (requests/s) whose p-latencies and refusals stay within the SLO, by bisection."""
    if platform not in profile.platforms:
        raise CoreError.one(profile.name, "platform", platform, f"known: {', '.join(profile.platforms)}")
    declared = profile.platforms[platform]
    truth = Truth(declared, seed, requests, quarter_end)
    saturation = truth.saturation_rps()
    low, high = saturation / 2, saturation
    met_low = truth.at(low)
    while not met_low.meets(slo):
        high, low = low, low / 2
        if low < saturation * 1e-3:
            return TrueReadiness(platform, str(slo), 0.0, high, tolerance, 0.0, 0.0, None, seed, requests)
        met_low = truth.at(low)
    point = truth.at(high)
    while point.meets(slo):
        low, met_low, high = high, point, high * 2
        if high > saturation * 64:
            raise CoreError.one("command line", "--slo", str(slo),
                                f"platform {platform!r} meets it at every rate: bound the errors too")
        point = truth.at(high)
    while high - low > tolerance * high:
        middle = (low + high) / 2
        point = truth.at(middle)
        if point.meets(slo):
            low, met_low = middle, point
        else:
            high = middle
    per_session = requests_per_session(declared, quarter_end)
    students = low / requests_per_student_second(declared, quarter_end)
    return TrueReadiness(platform, str(slo), low, high, tolerance, low / per_session, students, met_low, seed, requests)
