"""Running the collector: the ingest API on uvicorn (TLS optional), announcing where it listens."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import uvicorn

from collectors.api import Fleet, IngestSettings, create_app
from collectors.exporter import Verdicts
from collectors.ingest import IngestPool
from collectors.maintenance import Maintenance, day_judge
from collectors.snmp_loop import SnmpLoop
from collectors.store import Store
from core.norms import load_policy
from core.registry import load_registry
from core.school_calendar import SchoolCalendar
from probes.snmp.targets import load_targets


@dataclass(frozen=True)
class CollectorConfig:
    """Where the collector listens, its database and TLS files, and the ingest bounds."""

    db: str | Path                           # a SQLite file or a postgresql:// URL
    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ingest: IngestSettings = field(default_factory=IngestSettings)
    registry: Path | None = None             # with it: /metrics of every school, and unknown schools refused
    policy: str = "ministry"                 # a shipped policy name or a policy file
    max_age_seconds: float = 6 * 3600        # older latest values are not exported: silence shows
    verdict_window_days: int = 7
    verdict_every_seconds: float = 300.0
    maintenance_every_seconds: float = 30.0  # daily roll-ups of days that got results; retention
    ingest_workers: int = 0                  # processes validating and storing batches; 0: in this process
    snmp_targets: Path | None = None         # operator nodes and managed CPEs to poll from the centre
    snmp_interval_seconds: float = 60.0


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


def redacted(url: str | Path) -> str:
    """A database URL without its password, fit for logs."""
    parts = urlsplit(str(url))
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return str(url)


def load_fleet(config: CollectorConfig, store: Store) -> Fleet | None:
    """Registry, policy, calendar and the verdicts they give, or None without a registry (CoreError if bad)."""
    if config.registry is None:
        return None
    calendar = SchoolCalendar.load()
    registry = load_registry(config.registry)
    verdicts = Verdicts(store, registry, load_policy(config.policy), calendar, config.verdict_window_days,
                        config.verdict_every_seconds)
    return Fleet(registry, verdicts, calendar, config.max_age_seconds)


async def serve(config: CollectorConfig, announce: Callable[[str], None] = print,
                stop: asyncio.Event | None = None) -> None:
    """Serve until cancelled or `stop` is set; announce the URL once listening (port 0 picks a free one)."""
    with ExitStack() as cleanup:                           # whatever was started is stopped, in reverse order
        store = Store(config.db)
        cleanup.callback(store.close)
        fleet = load_fleet(config, store)
        listener = listen(config.host, config.port)      # ours, so a busy port is an error we can report
        cleanup.callback(listener.close)
        if fleet is not None:
            store.sync_schools(fleet.registry)
            fleet.verdicts.start()
            cleanup.callback(fleet.verdicts.stop)
        maintenance = Maintenance(store, config.ingest.raw_retention_months,
                                  [day_judge(fleet.verdicts)] if fleet else [], config.maintenance_every_seconds)
        maintenance.start()
        cleanup.callback(maintenance.stop)
        pool = None
        if config.ingest_workers and str(config.db) != ":memory:":
            pool = await asyncio.to_thread(IngestPool, config.db, config.ingest_workers)
            cleanup.callback(pool.close)
        snmp = None
        if config.snmp_targets is not None:
            contracts = {s.school_id: s.contracted_bps for s in fleet.registry} if fleet is not None else {}
            snmp = SnmpLoop(load_targets(config.snmp_targets), store, contracts, config.snmp_interval_seconds)
        uv_config = uvicorn.Config(create_app(store, config.ingest, fleet, pool, snmp), host=config.host,
                                   port=config.port, ssl_certfile=config.tls_cert, ssl_keyfile=config.tls_key,
                                   log_level="warning", access_log=False, lifespan="off",
                                   timeout_graceful_shutdown=5)
        server = uvicorn.Server(uv_config)
        task = asyncio.create_task(server.serve(sockets=[listener]))
        snmp_stop = asyncio.Event()
        snmp_task = asyncio.create_task(snmp.run(snmp_stop)) if snmp is not None else None
        try:
            while not server.started:
                if task.done():
                    await task
                await asyncio.sleep(0.02)
            scheme = "https" if config.tls_cert else "http"
            announce(f"collector listening on {scheme}://{config.host}:{listener.getsockname()[1]} "
                     f"(store {redacted(config.db)}, {config.ingest_workers or 'no'} ingest workers)")
            if stop is None:
                await task
            else:
                await stop.wait()
                server.should_exit = True
                await task
        finally:
            snmp_stop.set()
            if not task.done():
                server.should_exit = True
                await asyncio.gather(task, return_exceptions=True)
            if snmp_task is not None:
                await asyncio.gather(snmp_task, return_exceptions=True)
