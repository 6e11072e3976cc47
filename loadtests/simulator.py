"""The platform simulator: the profile's endpoints behind a declared capacity model, to rehearse against.

Each endpoint has a bounded pool of workers, a bounded queue in front of it (503 + Retry-After beyond
it) and a log-normal service time that is spent *waiting* (asyncio.sleep), so the simulator's CPU is
never what limits it: its capacity is workers / service time, as declared. At quarter end the
endpoints with a `quarter_end_factor` slow down by that factor. Streaming endpoints (the AI tutor)
hold their worker while the answer streams. Its own /metrics shows queues and busy workers; loadtests/serving.py serves it.
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
import re
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from core.metrics import instrument, metric
from loadtests.profile import PARAMETER, Endpoint, PlatformKind, Profile

STREAM_CHUNKS_PER_SECOND = 10
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_JSON = [(b"content-type", b"application/json")]


@dataclass
class Pool:
    """One endpoint's workers and queue, and how long it serves a request."""

    platform: str
    name: str
    endpoint: Endpoint
    response_bytes: int
    slow_factor: float
    busy: int = 0
    waiters: collections.deque = field(default_factory=collections.deque)

    async def acquire(self) -> bool:
        """Take a worker, waiting in the queue if needed; False when the queue is full (the caller answers 503)."""
        if self.busy < self.endpoint.capacity.workers:
            self.busy += 1
            return True
        if len(self.waiters) >= self.endpoint.capacity.queue:
            return False
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self.release()
            raise
        return True

    def release(self) -> None:
        """Hand the worker to the next queued request, or free it."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1

    def service_seconds(self, rng: random.Random) -> float:
        """One request's service time, seconds."""
        service = self.endpoint.capacity.service_seconds
        return rng.lognormvariate(math.log(service.median), service.sigma) * self.slow_factor


def _pools(profile: Profile, quarter_end: bool) -> dict[str, list[tuple[re.Pattern, Pool]]]:
    routes: dict[str, list[tuple[re.Pattern, Pool]]] = collections.defaultdict(list)
    for platform_name, platform in profile.platforms.items():
        for name, endpoint in platform.endpoints.items():
            size = platform.segment_bytes() if (platform.kind is PlatformKind.VIDEO and name == "segment") else endpoint.response_bytes
            slow = endpoint.capacity.quarter_end_factor if quarter_end else 1.0
            pattern = re.compile(re.escape(platform.prefix) + _route_pattern(endpoint.route) + "$")
            routes[endpoint.method].append((pattern, Pool(platform_name, name, endpoint, size, slow)))
    return routes


def _route_pattern(route: str) -> str:
    parts = PARAMETER.split(route)
    # split() alternates literal text and parameter names
    return "".join(re.escape(part) if i % 2 == 0 else "[^/]+" for i, part in enumerate(parts))


class Simulator:
    """An ASGI application serving a profile's endpoints with their capacity."""

    def __init__(self, profile: Profile, quarter_end: bool = False, seed: int = 1):
        self.profile, self.quarter_end = profile, quarter_end
        self.routes = _pools(profile, quarter_end)
        self.rng = random.Random(seed)
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = instrument("mektepnet_platform_sim_requests_total", self.registry)
        self.duration = instrument("mektepnet_platform_sim_request_duration_seconds", self.registry, DURATION_BUCKETS)
        self.registry.register(_PoolCollector(self))
        self._bodies: dict[int, bytes] = {}

    def pools(self) -> list[Pool]:
        """Every endpoint's pool."""
        return [pool for routes in self.routes.values() for _, pool in routes]

    def _route(self, method: str, path: str) -> Pool | None:
        for pattern, pool in self.routes.get(method, ()):
            if pattern.match(path):
                return pool
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/metrics" and method == "GET":
            await _answer(send, 200, generate_latest(self.registry), [(b"content-type", b"text/plain; version=0.0.4")])
            return
        if path == "/healthz":
            await _answer(send, 200, b'{"status":"ok"}', _JSON)
            return
        pool = self._route(method, path)
        while (await receive()).get("more_body"):
            pass  # uploads are read and dropped
        if pool is None:
            await _answer(send, 404, b'{"error":"no such endpoint in the profile"}', _JSON)
            return
        arrived = time.perf_counter()
        if not await pool.acquire():
            self.requests.labels(pool.platform, pool.name, "rejected").inc()
            await _answer(send, 503, b'{"error":"busy"}', [*_JSON, (b"retry-after", b"1")])
            return
        try:
            await asyncio.sleep(pool.service_seconds(self.rng))
            if pool.endpoint.stream_seconds:
                await self._stream(send, pool)
            else:
                await _answer(send, 200, self._body(pool.response_bytes), _JSON)
        finally:
            pool.release()
        self.requests.labels(pool.platform, pool.name, "ok").inc()
        self.duration.labels(pool.platform, pool.name).observe(time.perf_counter() - arrived)

    async def _stream(self, send, pool: Pool) -> None:
        chunks = max(1, int(pool.endpoint.stream_seconds * STREAM_CHUNKS_PER_SECOND))
        chunk = self._body(max(1, pool.response_bytes // chunks))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for _ in range(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(pool.endpoint.stream_seconds / chunks)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _body(self, size: int) -> bytes:
        if size not in self._bodies:
            self._bodies[size] = b"{" + b" " * max(0, size - 2) + b"}" if size >= 2 else b"0" * size
        return self._bodies[size]


async def _answer(send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _PoolCollector:
    def __init__(self, simulator: Simulator):
        self.simulator = simulator

    def collect(self):
        busy_spec, queued_spec = metric("mektepnet_platform_sim_busy_workers"), metric("mektepnet_platform_sim_queued_requests")
        busy = GaugeMetricFamily(busy_spec.name, busy_spec.help, labels=busy_spec.labels)
        queued = GaugeMetricFamily(queued_spec.name, queued_spec.help, labels=queued_spec.labels)
        for pool in self.simulator.pools():
            busy.add_metric([pool.platform, pool.name], pool.busy)
            queued.add_metric([pool.platform, pool.name], len(pool.waiters))
        yield busy
        yield queued


def capacity_table(profile: Profile, quarter_end: bool = False) -> list[tuple[str, str, int, int, float]]:
    """(platform, endpoint, workers, queue, requests/s it sustains) for each endpoint: workers / mean service time."""
    rows = []
    for platform_name, platform in profile.platforms.items():
        for name, endpoint in platform.endpoints.items():
            service = endpoint.capacity.service_seconds
            mean = service.median * math.exp(service.sigma ** 2 / 2) + endpoint.stream_seconds
            mean *= endpoint.capacity.quarter_end_factor if quarter_end else 1.0
            rows.append((platform_name, name, endpoint.capacity.workers, endpoint.capacity.queue,
                         endpoint.capacity.workers / mean))
    return rows
