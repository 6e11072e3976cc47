"""The school probe agent: scheduler → outbox → uploader, its own /metrics, and configuration updates.

Every result is committed to the outbox before anything else sees it. When an acknowledgement
carries a new configuration version the agent fetches the configuration, validates it over the
local file and restarts its scheduler with it; a configuration it cannot accept is logged and the
running one kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from core import __version__
from core.errors import CoreError
from core.measurement import Measurement
from core.school_calendar import SchoolCalendar
from probes.clock import Clock
from probes.config import ProbeConfig
from probes.context import ProbeContext
from probes.host import default_interface, link_type
from probes.http1 import TRANSPORT_ERRORS, json_request
from probes.identity import ROTATE_BEFORE_SECONDS, Credentials, rotate, tls_context
from probes.outbox import Outbox
from probes.scheduler import DataBudget, Scheduler, local_now
from probes.status import AgentStatus, LastResult, write_status
from probes.update import AgentUpdates, FleetClient
from probes.versions import RESTART_EXIT
from probes.uploader import Uploader

OUTBOX_FILE = "outbox.sqlite3"
REMOTE_CONFIG_FILE = "remote-config.json"
CONFIG_CHECK_SECONDS = 3600           # look for a new configuration at least this often, uploads or not
STARTS_KEY = "agent_starts"           # outbox state: how often an agent started on this state directory
START_TIMES_KEY = "agent_start_times"  # outbox state: when it started within the last day (unix seconds)
log = logging.getLogger("mektepnet.probe")


def probe_context(config: ProbeConfig, probe_id: str, clock: Clock) -> ProbeContext:
    """The context of every record: interface, wired or Wi-Fi, configuration hash."""
    interface = config.interface or default_interface()
    return ProbeContext(config.school_id, probe_id, clock, {
        "interface": interface or "", "link": link_type(interface), "config_hash": config.digest()})


def effective_config(local: ProbeConfig, remote: dict | None) -> ProbeConfig:
    """The local file with the collector's sections (jobs, throughput, modules, upload) laid over it, key by key.

    Mappings merge recursively (a served ndt7 server list keeps the probe's own region, token and CA
    file); lists and values replace. Identity, collector and paths never come from the collector.
    """
    if not remote:
        return local
    merged = local.model_dump(mode="json")
    for section in ("jobs", "throughput", "modules", "upload"):
        if section in remote:
            merged[section] = _overlay(merged.get(section), remote[section])
    return ProbeConfig.model_validate(merged)


def _overlay(base: object, over: object) -> object:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: _overlay(base.get(key), value) for key, value in over.items()}}
    return over


@dataclass
class LastResults:
    """The latest record per (kind, target), for /metrics and `probe status`."""

    by_key: dict[tuple[str, str], Measurement] = field(default_factory=dict)

    def add(self, measurements: list[Measurement]) -> None:
        """Remember the latest records."""
        for measurement in measurements:
            self.by_key[(measurement.kind.value, measurement.target)] = measurement


class Agent:
    """One probe: `run(stop)` measures and uploads until `stop` is set."""

    def __init__(self, config: ProbeConfig, credentials: Credentials, calendar: SchoolCalendar | None = None,
                 clock: Clock | None = None):
        self.local_config = config
        self.credentials = credentials
        self.calendar = calendar or SchoolCalendar.load()
        self.clock = clock or Clock()
        self.outbox = Outbox(config.state_dir / OUTBOX_FILE)
        stored = self._stored_remote()
        self.applied_version: str | None = stored.get("version") if stored else None
        self.config = effective_config(config, stored.get("config") if stored else None)
        self.starts, now = int(self.outbox.get(STARTS_KEY, 0)) + 1, time.time()
        self.start_times = [at for at in self.outbox.get(START_TIMES_KEY, []) if now - at < 86_400] + [now]
        self.outbox.put(STARTS_KEY, self.starts)
        self.outbox.put(START_TIMES_KEY, self.start_times)
        self._failure_marks: deque[tuple[float, int]] = deque()     # (monotonic s, failed uploads so far)
        self.context = self._context(self.config)
        self.last = LastResults()
        self.started = time.time()
        self.config_error: str | None = None
        self._new_version: str | None = None
        self._failed: tuple[str | None, float] = (None, 0.0)     # a version that could not be applied, and when
        self._checked_at = time.monotonic()
        self._rotate_not_before = 0.0
        self._restart = asyncio.Event()
        self.uploader: Uploader | None = None
        fleet = FleetClient(config.collector, config.state_dir, credentials.probe_id, credentials.school_id, config.ca_file)
        self.fleet = AgentUpdates(fleet) if fleet.enabled() else None
        self.stop: asyncio.Event | None = None
        self.exit_code = 0                 # RESTART_EXIT after a switch: the launcher starts the new version

    def record(self, measurements: list[Measurement]) -> None:
        """The sink of every prober: commit to the outbox first, then update the local view."""
        if not measurements:
            return
        self.outbox.add(measurements)
        self.last.add(measurements)

    def _context(self, config: ProbeConfig) -> ProbeContext:
        """The record context, with the health figures a rollout compares: starts (ever and within a day) and
        failed uploads within the last hour."""
        context = probe_context(config, self.credentials.probe_id, self.clock)
        context.attributes.update({STARTS_KEY: str(self.starts), "starts_last_day": str(len(self.start_times)),
                                   "upload_failures_last_hour": "0"})
        return context

    def _count_upload_failures(self) -> None:
        """Stamp the failed uploads of the last hour on the records from now on (the scheduler shares this
        context)."""
        now, total = time.monotonic(), sum(self.uploader.stats.failures.values())
        self._failure_marks.append((now, total))
        while len(self._failure_marks) > 1 and now - self._failure_marks[1][0] >= 3600:
            self._failure_marks.popleft()
        self.context.attributes["upload_failures_last_hour"] = str(total - self._failure_marks[0][1])

    async def run(self, stop: asyncio.Event, check_now: asyncio.Event | None = None) -> None:
        """Measure and upload until `stop`; `check_now` (SIGHUP) looks for a new configuration or version at
        once instead of within the hour. The outbox is closed on return."""
        self.stop = stop
        self.tls = tls_context(self.local_config.ca_file)
        # With the fleet, acknowledgements carry the collector's own --probe-config version, which means
        # nothing here: the signed repository is checked on its own schedule.
        self.uploader = Uploader(self.local_config.collector, self.credentials, self.outbox, self.config.upload,
                                 self.clock, self.tls, on_config_version=None if self.fleet else self._config_changed,
                                 fallbacks=self.local_config.fallback_collectors)
        await self._apply_remote()          # also when nothing is measured yet: the collector may set the jobs
        upload = asyncio.create_task(self.uploader.run(stop))
        status = asyncio.create_task(self._keep_status(stop, check_now or asyncio.Event()))
        if self.calendar.academic_year(local_now(self.clock).date()) is None:
            log.warning("today is outside the school calendar's years: school-hours jobs and daytime tests wait "
                        "until a calendar that covers it is installed")
        try:
            while not stop.is_set():
                restart = self._restart = asyncio.Event()
                scheduler = Scheduler(self.config, self.context, self.record,
                                      DataBudget(self.outbox, self.config.throughput.daily_budget_bytes),
                                      self.calendar)
                either = asyncio.Event()
                relay = [asyncio.create_task(_relay(event, either)) for event in (stop, restart)]
                await scheduler.run(either)
                for task in relay:
                    task.cancel()
                if self._new_version is not None and not stop.is_set():
                    await self._apply_remote()
        finally:
            await asyncio.gather(upload, status, return_exceptions=True)
            self.write_status()
            self.outbox.close()

    def _config_changed(self, version: str) -> None:
        """Called with the version of every acknowledgement: restart on a version not yet applied."""
        failed_version, failed_at = self._failed
        if version == self.applied_version or (version == failed_version and time.monotonic() - failed_at < 600):
            return
        self._new_version = version
        self._restart.set()

    def _collector(self) -> str:
        """The collector in use: the one the uploader has failed over to, if any."""
        return self.uploader.active_collector if self.uploader is not None else self.local_config.collector

    async def _fetch_remote(self) -> tuple[str, dict]:
        """(version, sections) of the configuration the collector serves; raises on any trouble.

        Its `Date` header teaches the clock too, so a probe with nothing to upload yet learns its offset."""
        if self.fleet is not None:
            return await self.fleet.client.config()
        sent = time.monotonic()
        answer = await json_request("GET", f"{self._collector()}/api/v1/probe/config",
                                    token=self.credentials.token, tls=self.tls,
                                    timeout_seconds=self.config.upload.timeout_seconds)
        if date := answer.headers.get("date"):
            self.clock.learn(date, sent, time.monotonic())
        if answer.status != 200:
            raise ValueError(f"HTTP {answer.status}")
        document = json.loads(answer.body)
        return str(document.get("version")), document.get("config") or {}

    async def _apply_remote(self) -> bool:
        """Fetch the collector's configuration and apply it if its version is new; True if applied."""
        requested, self._new_version, self._checked_at = self._new_version, None, time.monotonic()
        try:
            version, remote = await self._fetch_remote()
            if version == self.applied_version:
                return False
            config = effective_config(self.local_config, remote)
            (self.local_config.state_dir / REMOTE_CONFIG_FILE).write_text(
                json.dumps({"version": version, "config": remote}), encoding="utf-8")
        except (*TRANSPORT_ERRORS, ValidationError, AttributeError) as exc:
            self.config_error = f"configuration not applied: {exc}"
            self._failed = (requested, time.monotonic())
            log.error(self.config_error)
            return False
        self.config, self.config_error, self.applied_version = config, None, version
        self.context = self._context(config)
        if self.uploader is not None:
            self.uploader.settings = config.upload
        log.info("configuration %s applied (hash %s)", version, config.digest())
        return True

    async def _check_remote(self) -> None:
        """The hourly look at the served version: the scheduler restarts only if it changed."""
        self._checked_at = time.monotonic()
        try:
            version, _ = await self._fetch_remote()
        except (*TRANSPORT_ERRORS, AttributeError) as exc:
            log.warning("configuration check failed: %s", exc)
            return
        self._config_changed(version)

    def _stored_remote(self) -> dict | None:
        path = self.local_config.state_dir / REMOTE_CONFIG_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    async def _keep_status(self, stop: asyncio.Event, check_now: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if self.uploader is not None:
                    self._count_upload_failures()
                self.write_status()
                await self._rotate_if_due()
                if check_now.is_set() or time.monotonic() - self._checked_at > CONFIG_CHECK_SECONDS:
                    check_now.clear()
                    await self._check_remote()
                if self.fleet is not None:
                    await self._follow_fleet()
            except Exception:          # noqa: BLE001 - e.g. the state disk failed: keep trying, keep measuring
                log.exception("status round failed")
            wake = asyncio.Event()
            relay = [asyncio.create_task(_relay(event, wake)) for event in (stop, check_now)]
            try:
                await asyncio.wait_for(wake.wait(), 15)
            except TimeoutError:
                pass
            for task in relay:
                task.cancel()

    async def _follow_fleet(self) -> None:
        """Confirm a version on trial once it uploaded and measured; switch to an assigned version (exit 75)."""
        uploaded = self.uploader is not None and self.uploader.stats.last_success is not None
        self.fleet.confirm_if_healthy(uploaded, bool(self.last.by_key))
        if await asyncio.to_thread(self.fleet.switch_if_assigned) is not None and self.stop is not None:
            self.exit_code = RESTART_EXIT
            self.stop.set()

    async def _rotate_if_due(self) -> None:
        """Rotate the token a month before it expires, judged by the collector's clock (a box without an RTC
        may be months off); a failure is logged and retried an hour later."""
        reference = self.clock.reference_now()
        if reference is None or time.monotonic() < self._rotate_not_before:
            return
        if not self.credentials.expires_within(ROTATE_BEFORE_SECONDS, datetime.fromtimestamp(reference, timezone.utc)):
            return
        try:
            self.credentials = await rotate(self._collector(), self.credentials,
                                            self.local_config.state_dir, self.tls)
        except (*TRANSPORT_ERRORS, ValidationError) as exc:
            self._rotate_not_before = time.monotonic() + 3600
            log.warning("token rotation failed, will retry in an hour: %s", exc)
            return
        if self.uploader is not None:
            self.uploader.credentials = self.credentials
        log.info("token rotated; valid until %s", self.credentials.expires_at.isoformat())

    def status(self) -> AgentStatus:
        """The agent's state now, as `mektepnet probe status` shows it."""
        stats = self.uploader.stats if self.uploader else None
        return AgentStatus(
            written_at=time.time(), started_at=self.started, version=__version__,
            probe_id=self.credentials.probe_id, school_id=self.credentials.school_id,
            config_hash=self.config.digest(), config_version=self.applied_version, config_error=self.config_error,
            previous_version=self.fleet.previous() if self.fleet else None,
            on_trial=self.fleet.on_trial() if self.fleet else False, agent_starts=self.starts,
            config_group=self.fleet.client.offer.config_group if self.fleet and self.fleet.client.offer else None,
            fleet_refusal=self.fleet.client.last_refusal if self.fleet else None,
            clock_offset_seconds=self.clock.offset_seconds(), clock_source=self.clock.source(),
            ntp_synchronised=self.clock.ntp(),
            data_used_bytes=DataBudget(self.outbox, 0).used(local_now(self.clock).date()),
            data_budget_bytes=self.config.throughput.daily_budget_bytes,
            uploaded=stats.records if stats else {}, upload_failures=stats.failures if stats else {},
            last_upload_at=stats.last_success if stats else None,
            last=[LastResult.of(m) for _, m in sorted(self.last.by_key.items())])

    def write_status(self) -> None:
        """Store a snapshot for `mektepnet probe status` (which may run while the agent does)."""
        write_status(self.outbox, self.status())


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


def outbox_path(state_dir: Path) -> Path:
    """Where the agent keeps its outbox."""
    return state_dir / OUTBOX_FILE


async def run_agent(config: ProbeConfig, credentials: Credentials, stop: asyncio.Event,
                    announce=lambda text: None, check_now: asyncio.Event | None = None) -> int:
    """Run the agent with its /metrics until `stop` is set (the CLI sets it on SIGTERM and SIGINT, and
    `check_now` on SIGHUP); returns the exit code (RESTART_EXIT after switching versions)."""
    from probes.metrics import serve_metrics

    agent = Agent(config, credentials)
    try:
        server = serve_metrics(agent, config.metrics_address) if config.metrics_address else None
    except OSError as exc:
        raise CoreError.one("configuration", "metrics_address", config.metrics_address,
                            f"cannot listen: {exc.strerror or exc}") from None
    announce(f"probe {credentials.probe_id} of {credentials.school_id}: uploading to {config.collector}"
             + (f", metrics on http://{config.metrics_address}/metrics" if server else ""))
    try:
        await agent.run(stop, check_now)
    finally:
        if server is not None:
            server.shutdown()
    return agent.exit_code


async def run_once(config: ProbeConfig, probe_id: str, throughput: bool = True) -> list[Measurement]:
    """Every configured job's prober once on each of its targets, then one ndt7 test if servers are set."""
    from probes.probers import run_prober

    context = probe_context(config, probe_id, Clock())
    results: list[Measurement] = []
    for job in config.jobs:
        for target in job.targets:
            results += await run_prober(job.prober, target, config.modules, context)
    if throughput and config.modules.ndt7.servers:
        from probes.snmp.prober import throughput_with_context

        results += await throughput_with_context(config.modules, context)
    return results
