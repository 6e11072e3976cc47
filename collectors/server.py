"""Running the collector: the ingest API on uvicorn (TLS optional), its loops, and a handle to stop it all.

`start(settings)` returns a `Collector` once it listens: its URLs and `stop()`. From synchronous code
(the demo, tests) `start_in_thread(settings)` runs it on an event loop of its own thread.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from contextlib import AsyncExitStack
from urllib.parse import urlsplit, urlunsplit

import uvicorn

from collectors.admission import Admission, with_header_deadline
from collectors.api import Fleet, create_app
from collectors.exporter import Verdicts
from collectors.ingest import IngestPool
from collectors.maintenance import Maintenance, day_judge
from collectors.settings import CollectorSettings
from collectors.snmp_loop import SnmpLoop
from collectors.store import Store
from core.norms import load_policy
from core.registry import load_registry
from core.school_calendar import SchoolCalendar
from probes.snmp.targets import load_targets

def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one); OSError if it cannot be had."""
    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def redacted(url: str) -> str:
    """A database URL without its password, fit for logs."""
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return url


def load_fleet(settings: CollectorSettings, store: Store) -> Fleet | None:
    """Registry, policy, calendar and the verdicts they give, or None without a registry (CoreError if bad)."""
    if settings.registry is None:
        return None
    calendar = SchoolCalendar.load()
    registry = load_registry(settings.registry)
    verdicts = Verdicts(store, registry, load_policy(settings.policy), calendar, settings.verdict_window_days,
                        settings.verdict_every_seconds)
    return Fleet(registry, verdicts, calendar, settings.max_age_seconds)


def base_url(listener: socket.socket, tls: bool) -> str:
    """The URL a client on this machine reaches `listener` at (an unspecified address becomes loopback)."""
    host, port = listener.getsockname()[:2]
    address = ipaddress.ip_address(host)
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"{'https' if tls else 'http'}://{shown}:{port}"


class Collector:
    """A running collector: where it answers, and `stop()` that ends its server, loops and ingest workers."""

    def __init__(self, url: str, ingest_workers: int, server: uvicorn.Server, task: asyncio.Task,
                 cleanup: AsyncExitStack):
        self.url = url                          # API base URL, e.g. http://127.0.0.1:8443
        self.metrics_url = f"{url}/metrics"
        self.ingest_workers = ingest_workers    # worker processes storing batches (0: the API process)
        self._server, self._task, self._cleanup = server, task, cleanup

    async def wait(self) -> None:
        """Return when the server ended (stop(), or SIGINT/SIGTERM in the main thread), then clean up."""
        try:
            await asyncio.shield(self._task)
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop serving, then every loop and worker process; safe to call twice."""
        self._server.should_exit = True
        await asyncio.gather(self._task, return_exceptions=True)
        await self._cleanup.aclose()


async def start(settings: CollectorSettings) -> Collector:
    """Start the collector; return once it listens (port 0 picks a free port). OSError if it cannot listen,
    CoreError if a file it reads is bad; whatever was started by then is stopped again."""
    async with AsyncExitStack() as cleanup:             # stops, in reverse order, what was started
        store = Store(settings.db)
        cleanup.callback(store.close)
        fleet = load_fleet(settings, store)
        listener = listen(settings.host, settings.port)  # ours, so a busy port is an error we can report
        cleanup.callback(listener.close)
        if fleet is not None:
            store.sync_schools(fleet.registry)
            fleet.verdicts.start()
            cleanup.callback(fleet.verdicts.stop)
        maintenance = Maintenance(store, settings.ingest.raw_retention_months,
                                  [day_judge(fleet.verdicts)] if fleet else [], settings.maintenance_every_seconds)
        maintenance.start()
        cleanup.callback(maintenance.stop)
        workers = settings.ingest_workers if settings.db != ":memory:" else 0
        pool = await asyncio.to_thread(IngestPool, settings.db, workers) if workers else None
        if pool is not None:
            cleanup.push_async_callback(asyncio.to_thread, pool.close)
        snmp = None
        if settings.snmp_targets is not None:
            contracts = {s.school_id: s.contracted_bps for s in fleet.registry} if fleet is not None else {}
            snmp = SnmpLoop(load_targets(settings.snmp_targets), store, contracts, settings.snmp_interval_seconds)
            snmp_stop = asyncio.Event()
            snmp_task = asyncio.create_task(snmp.run(snmp_stop))
            cleanup.push_async_callback(asyncio.gather, snmp_task, return_exceptions=True)
            cleanup.callback(snmp_stop.set)
        app = Admission(create_app(store, settings.ingest, fleet, pool, snmp), settings.admission)
        config = uvicorn.Config(app, http=_http_protocol(settings), ssl_certfile=settings.tls_cert,
                                ssl_keyfile=settings.tls_key, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            if task.done():
                await task                               # its error, raised here
                raise OSError("the server ended before it started")
            await asyncio.sleep(0.02)
        collector = Collector(base_url(listener, settings.tls_cert is not None), workers, server, task,
                              cleanup.pop_all())
    return collector


def _http_protocol(settings: CollectorSettings) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with the request-head deadline."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return with_header_deadline(AutoHTTPProtocol, settings.admission.header_timeout_seconds)


class CollectorThread:
    """A collector on an event loop of its own thread, for synchronous callers; a context manager."""

    def __init__(self, settings: CollectorSettings, start_timeout_seconds: float = 120.0):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="collector", daemon=True)
        self._thread.start()
        try:
            self._collector = asyncio.run_coroutine_threadsafe(start(settings), self._loop).result(
                start_timeout_seconds)
        except BaseException:
            self._end_loop()
            raise
        self.url, self.metrics_url = self._collector.url, self._collector.metrics_url
        self.ingest_workers = self._collector.ingest_workers

    def stop(self, timeout_seconds: float = 60.0) -> None:
        """Stop the collector (server, loops, ingest workers) and its thread; safe to call twice."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._collector.stop(), self._loop).result(timeout_seconds)
            self._end_loop()

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> "CollectorThread":
        return self

    def __exit__(self, *_) -> None:
        self.stop()


def start_in_thread(settings: CollectorSettings) -> CollectorThread:
    """Start the collector in a background thread; return its handle once it listens."""
    return CollectorThread(settings)
