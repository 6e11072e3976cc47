"""A real collector for tests: in a thread of this process, or `mektepnet collector serve` as a process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from collectors import enrolment
from collectors.server import start_in_thread
from collectors.settings import CollectorSettings
from collectors.store import Store
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
