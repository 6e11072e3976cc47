"""The ndt7 server: download and upload subtests over WebSocket, with admission control and metrics.

Admission happens before the WebSocket upgrade, so a refusal is a plain HTTP answer a client can act
on: 404 unknown path, 400 bad request (no ndt7 subprotocol, oversized or duplicate query), 426 not an
upgrade, 401 a missing or invalid access token and 403 a token for another server or test (when the
server verifies tokens), 429 over the probe's rate (with Retry-After), 503 over the concurrency cap
(with Retry-After). `/metrics` on the same port serves Prometheus.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from core.metrics import instrument
from probes.ndt7 import spec
from probes.ndt7.limiter import BoundedBuckets
from probes.ndt7.tokens import Refusal, TokenVerifier
from probes.ndt7.transfer import Measurer, Progress, send_messages
from probes.ndt7.wire import ConnectionInfoData, MalformedMessage, parse_message

BUSY_RETRY_AFTER_SECONDS = 30
DURATION_BUCKETS = (1, 2, 3, 5, 7, 10, 11, 13, 15)


@dataclass(frozen=True)
class ServerConfig:
    """How the server runs. Rates in tests per hour per probe; with a public key, only signed tokens
    for `token_audience` (this server's name in the probes' server list) are accepted."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_concurrent: int = 16
    tests_per_token_per_hour: float = 60
    token_burst: int = 6
    token_public_key: Path | None = None
    token_audience: str | None = None
    max_tracked_tokens: int = 100_000       # rate-limit entries kept at most (least recently used go first)
    runtime_seconds: float = spec.DEFAULT_RUNTIME_SECONDS
    close_timeout_seconds: float = 2.0


@dataclass
class Ndt7Handle:
    """A listening server: its base URL (ws:// or wss://host:port, the port as bound) and `stop()`."""

    server: "Ndt7Server"
    url: str
    port: int
    _listener: Server = field(repr=False)

    @property
    def metrics_url(self) -> str:
        """Where Prometheus scrapes this server (http:// or https://host:port/metrics)."""
        return self.url.replace("ws", "http", 1) + "/metrics"

    async def stop(self) -> None:
        """Stop listening and end the subtests in progress; returns once all connections are closed."""
        self._listener.close()
        await self._listener.wait_closed()


class Ndt7Server:
    """One ndt7 server; `start()` binds it and returns a handle, `running()` does so for a `with` block."""

    def __init__(self, config: ServerConfig, registry: CollectorRegistry | None = None):
        self.config = config
        self.registry = registry or CollectorRegistry()
        self.verifier = (TokenVerifier.from_file(config.token_public_key, config.token_audience or "")
                         if config.token_public_key is not None else None)
        self.buckets = BoundedBuckets(config.tests_per_token_per_hour, config.token_burst, config.max_tracked_tokens)
        self.active = 0
        self.tests = instrument("mektepnet_ndt7_tests_total", self.registry)
        self.bytes = instrument("mektepnet_ndt7_bytes_total", self.registry)
        self.durations = instrument("mektepnet_ndt7_test_duration_seconds", self.registry, DURATION_BUCKETS)
        self.refusals = instrument("mektepnet_ndt7_refusals_total", self.registry)
        self.in_progress = instrument("mektepnet_ndt7_tests_in_progress", self.registry)

    @property
    def scheme(self) -> str:
        """ws or wss."""
        return "wss" if self.config.tls_cert else "ws"

    async def start(self) -> Ndt7Handle:
        """Bind (port 0 picks a free one) and serve in the background of the running event loop."""
        listener = await serve(self._handle, self.config.host, self.config.port, ssl=self._tls(),
                               process_request=self._admit, subprotocols=[spec.SUBPROTOCOL],
                               max_size=spec.MAX_MESSAGE_SIZE, compression=None, ping_interval=None,
                               close_timeout=self.config.close_timeout_seconds, server_header="mektepnet-ndt7")
        port = listener.sockets[0].getsockname()[1]
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return Ndt7Handle(self, f"{self.scheme}://{host}:{port}", port, listener)

    @asynccontextmanager
    async def running(self):
        """Serve until the context exits; yields the handle."""
        handle = await self.start()
        try:
            yield handle
        finally:
            await handle.stop()

    def _tls(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """Decide before the upgrade: serve metrics, refuse with a clear status, or let the test run."""
        url = urlsplit(request.path)
        if url.path == "/metrics":
            body = generate_latest(self.registry)
            return Response(200, "OK", Headers([("Content-Type", CONTENT_TYPE_LATEST),
                                                ("Content-Length", str(len(body)))]), body)
        if url.path not in spec.PATHS:
            return self._refuse(connection, 404, "bad_request", f"unknown path {url.path}; use "
                                f"{spec.DOWNLOAD_PATH} or {spec.UPLOAD_PATH}")
        if "upgrade" not in request.headers.get("Connection", "").lower():
            return self._refuse(connection, 426, "bad_request", "an ndt7 test is a WebSocket upgrade")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if spec.SUBPROTOCOL not in offered:
            return self._refuse(connection, 400, "bad_request", f"missing subprotocol {spec.SUBPROTOCOL}")
        if len(url.query.encode()) > spec.MAX_QUERY_BYTES:
            return self._refuse(connection, 400, "bad_request", f"query over {spec.MAX_QUERY_BYTES} bytes")
        pairs = parse_qsl(url.query, keep_blank_values=True)
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            return self._refuse(connection, 400, "bad_request", "duplicate query parameter")
        token = dict(pairs).get(spec.TOKEN_PARAMETER)
        key = token or "anonymous"
        if self.verifier is not None:
            grant = self.verifier.verify(token, spec.PATHS[url.path])
            if isinstance(grant, Refusal):
                return self._refuse(connection, grant.status, "unauthorized", grant.reason)
            key = grant.probe_id            # the limit follows the probe, whatever token string it shows
        wait = self.buckets.take(key)
        if wait > 0:
            return self._refuse(connection, 429, "rate_limited", "too many tests for this probe", retry=wait)
        if self.active >= self.config.max_concurrent:
            return self._refuse(connection, 503, "busy", "server busy: try another server or later",
                                retry=BUSY_RETRY_AFTER_SECONDS)
        self.active += 1          # reserved until the connection closes, handshake failures included
        asyncio.get_running_loop().create_task(self._release(connection))
        return None

    def _refuse(self, connection: ServerConnection, status: int, reason: str, text: str,
                retry: float | None = None) -> Response:
        self.refusals.labels(reason).inc()
        response = connection.respond(status, text + "\n")
        if retry is not None:
            response.headers["Retry-After"] = str(max(1, round(retry)))
        return response

    async def _release(self, connection: ServerConnection) -> None:
        with suppress(Exception):
            await connection.wait_closed()
        self.active -= 1

    async def _handle(self, ws: ServerConnection) -> None:
        """Run one subtest; never raises to the server loop."""
        url = urlsplit(ws.request.path)
        test = spec.PATHS[url.path]
        query = dict(parse_qsl(url.query))
        progress = Progress()
        client, server = ws.remote_address, ws.local_address
        measurer = Measurer(ws.transport.get_extra_info("socket"), progress, "server", test, ConnectionInfoData(
            Client=f"{client[0]}:{client[1]}", Server=f"{server[0]}:{server[1]}", UUID=str(uuid.uuid4())))
        self.in_progress.inc()
        outcome = "error"
        try:
            async with asyncio.timeout(spec.MAX_RUNTIME_SECONDS):
                if test == spec.DOWNLOAD:
                    outcome = await self._download(ws, progress, measurer, _max_bytes(query))
                else:
                    outcome = await self._upload(ws, progress, measurer)
        except MalformedMessage as exc:
            await _close(ws, self.config.close_timeout_seconds, 1007, f"malformed measurement message: {exc}"[:120])
        except (TimeoutError, ConnectionClosed, OSError):
            outcome = "client_closed" if ws.close_code in (1000, 1001) else "error"
        finally:
            self.in_progress.dec()
            self.tests.labels(test, outcome).inc()
            self.bytes.labels(test).inc(progress.app_bytes)
            self.durations.labels(test).observe(progress.elapsed())
            await _close(ws, self.config.close_timeout_seconds)

    async def _download(self, ws: ServerConnection, progress: Progress, measurer: Measurer,
                        max_bytes: int | None) -> str:
        """Send for the runtime (or up to the byte cap) while measuring; stop early if the client closes."""
        deadline = progress.started + self.config.runtime_seconds
        tasks = {asyncio.create_task(send_messages(ws, progress, deadline, max_bytes)),
                 asyncio.create_task(measurer.run(ws.send)),
                 asyncio.create_task(_drain(ws))}
        return await _first_outcome(tasks, ws, measurer)

    async def _upload(self, ws: ServerConnection, progress: Progress, measurer: Measurer) -> str:
        """Count what the client sends while measuring, until it closes or the runtime is over."""
        async def receive() -> str:
            async for message in ws:
                if isinstance(message, str):
                    parse_message(message)               # client measurements: checked, not needed
                else:
                    progress.app_bytes += len(message)
            return "completed"

        async def runtime() -> str:
            await asyncio.sleep(self.config.runtime_seconds + 1)   # a client that overruns is stopped
            return "completed"

        tasks = {asyncio.create_task(receive()), asyncio.create_task(measurer.run(ws.send)),
                 asyncio.create_task(runtime())}
        return await _first_outcome(tasks, ws, measurer)


async def _close(ws: ServerConnection, timeout: float, code: int = 1000, reason: str = "") -> None:
    """Close the WebSocket; a client that stopped reading cannot take the close frame, so abort then."""
    try:
        async with asyncio.timeout(timeout):
            await ws.close(code, reason)
    except Exception:
        ws.transport.abort()


async def _drain(ws: ServerConnection) -> str:
    """Read (and check) what the client sends during a download; return when it closes."""
    async for message in ws:
        if isinstance(message, str):
            parse_message(message)
    return "client_closed"


async def _first_outcome(tasks: set[asyncio.Task], ws: ServerConnection, measurer: Measurer) -> str:
    """Wait for the first task to finish, cancel the rest, send the summary message, return the outcome.

    The tasks are cancelled however this ends, the subtest's timeout included: a sender blocked on a
    client that stopped reading must not outlive its test.
    """
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failures = [task.exception() for task in done if not task.cancelled() and task.exception() is not None]
    if failures:
        raise failures[0]                    # ConnectionClosed / MalformedMessage, handled by the caller
    result = next(iter(done)).result()
    outcome = "completed" if result in ("full duration", "byte cap", "completed") else result
    if outcome == "completed":
        with suppress(ConnectionClosed):
            await ws.send(measurer.message().to_json())
    return outcome


def _max_bytes(query: dict[str, str]) -> int | None:
    """The byte cap the client asked for: our own parameter, or the spec's early_exit (MB)."""
    caps = []
    if query.get(spec.MAX_BYTES_PARAMETER, "").isdigit():
        caps.append(int(query[spec.MAX_BYTES_PARAMETER]))
    if query.get("early_exit", "").isdigit() and int(query["early_exit"]) in spec.EARLY_EXIT_MEGABYTES:
        caps.append(int(query["early_exit"]) * 1_000_000)
    return min(caps) if caps else None


async def serve_forever(config: ServerConfig, on_listening: Callable[[Ndt7Handle], None]) -> None:
    """Run a server until cancelled; `on_listening` gets the handle once it is bound."""
    async with Ndt7Server(config).running() as handle:
        on_listening(handle)
        await asyncio.Future()
