"""A real collector for tests: in a thread of this process, or `mektepnet collector serve` as a process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from collectors import enrolment
from collectors.api import IngestSettings
from collectors.server import start_in_thread
from collectors.settings import CollectorSettings
from collectors.store import Store
from core.examples import LinkQuality, example_measurements
from probes.context import ProbeContext
from probes.identity import Credentials, enroll
from tests.helpers.cli import ROOT


@contextmanager
def collector_thread(settings: CollectorSettings):
    """The collector on a free loopback port, in a background thread; yields its base URL. Batches are
    stored in this process unless the settings ask for ingest workers (starting them costs seconds)."""
    update = {"port": 0} | ({} if "ingest_workers" in settings.model_fields_set else {"ingest_workers": 0})
    with start_in_thread(settings.model_copy(update=update)) as collector:
        yield collector.url


def collector_process(db: Path, *args: str, namespace: str | None = None, host: str = "127.0.0.1",
                      port: int = 0) -> tuple[subprocess.Popen, str]:
    """Start `mektepnet collector serve`; returns the process and its base URL once it listens."""
    argv = [sys.executable, "-m", "cli", "collector", "serve", "--db", str(db), "--host", host, "--port", str(port),
            *args]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"COLUMNS": "300", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    line = process.stdout.readline()
    match = re.search(r"(https?://[\w.]+:\d+)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"collector did not start: {line} {process.stderr.read()}")
    return process, match.group(1)


def enrolled(url: str, db: Path, school_id: str, state_dir: Path, ca_file: Path | None = None) -> Credentials:
    """Issue a code in the collector's database and enrol a probe with it, as an operator would."""
    store = Store(db)
    try:
        code = enrolment.issue_code(store, school_id)
    finally:
        store.close()
    return asyncio.run(enroll(url, school_id, code, state_dir, ca_file))


def upload(url: str, credentials: Credentials, records, outbox_path: Path, ca_file: Path | None = None) -> None:
    """Send records to the collector the way a probe does: outbox first, then the real uploader (https://
    URLs verified against `ca_file`)."""
    from probes.clock import Clock
    from probes.config import UploadSettings
    from probes.identity import tls_context
    from probes.outbox import Outbox
    from probes.uploader import Uploader

    outbox = Outbox(outbox_path)
    outbox.add(records)

    async def drain() -> None:
        tls = tls_context(ca_file) if url.startswith("https:") else None
        uploader = Uploader(url, credentials, outbox, UploadSettings(batch_records=500), Clock(), tls)
        for _ in range(1000):
            if await uploader.upload_once() is not None and outbox.depth()[0] == 0:
                return
        raise RuntimeError("the outbox did not drain")

    try:
        asyncio.run(drain())
        if outbox.depth() != (0, 0):
            raise RuntimeError(f"records left: {outbox.depth()}")
    finally:
        outbox.close()


EXAMPLE_REGISTRY = ROOT / "tests" / "fixtures" / "registry" / "valid.csv"
EXAMPLE_LINKS = {"KZ-001": LinkQuality(45e6, 20e6),                                   # meets the norm
                 "KZ-002": LinkQuality(1e6, 0.3e6, rtt_seconds=0.3, loss_ratio=0.1)}  # below it
YEAR_SECONDS = 365 * 86400


def recent_school_days(calendar, count: int = 5) -> tuple[date, int]:
    """The first of the last `count` school days before today and the window (days) that reaches it.

    A test must pass on any date, school holidays included, so it looks back as far as it must.
    """
    day, found = datetime.now(timezone.utc).date() - timedelta(days=1), []
    while len(found) < count:
        if calendar.is_school_day(day, 5):
            found.append(day)
        day -= timedelta(days=1)
    first = found[-1]
    return first, (datetime.now(timezone.utc).date() - first).days + 2


@contextmanager
def example_collector(tmp_path: Path, registry, calendar, extra_records=lambda context: [],
                      fleet_dir: Path | None = None):
    """A collector judging the example registry, fed the recent school days of KZ-001 (meets) and KZ-002
    (below) through the ingest API, plus `extra_records(context)` per school, serving the fleet repository
    `fleet_dir` if given; yields (url, db, window days)."""
    db = tmp_path / "collector.sqlite3"
    first, window = recent_school_days(calendar)
    settings = CollectorSettings(db=db, registry=EXAMPLE_REGISTRY, max_age_seconds=YEAR_SECONDS,
                                 verdict_window_days=window, verdict_every_seconds=0.5,
                                 ingest=IngestSettings(fleet_dir=fleet_dir))
    with collector_thread(settings) as url:
        for school_id, link in EXAMPLE_LINKS.items():
            credentials = enrolled(url, db, school_id, tmp_path / school_id)
            records = example_measurements(registry[school_id], link, calendar, first,
                                           (datetime.now(timezone.utc).date() - first).days,
                                           probe_id=credentials.probe_id)
            records += extra_records(ProbeContext(school_id, credentials.probe_id))
            upload(url, credentials, records, tmp_path / school_id / "outbox.sqlite3")
        yield url, db, window
