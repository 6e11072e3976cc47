"""The store's disk fills up under upload load: the collector answers 503 with Retry-After (never 500),
the probes keep their records, and when space returns the backlog drains: nothing lost, nothing twice.

The SQLite store lives on a small tmpfs of its own; a filler file takes all but a little of it, and is
deleted to give the space back.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.faults.conftest import collector_config
from tests.helpers.collector import collector_process
from tests.helpers.oracle import assert_exact, wait_for
from tests.helpers.uploading_probes import UploadingProbes

FILESYSTEM_BYTES = 48 << 20
LEFT_FREE_BYTES = 1 << 20


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs mounted for this test alone."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FILESYSTEM_BYTES}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory, leave_bytes: int) -> None:
    """Take every byte of the filesystem of `directory` but `leave_bytes`."""
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    with open(directory / "filler", "wb") as filler:
        filler.write(b"\0" * max(0, free - leave_bytes))


def test_a_full_disk_is_a_503_with_retry_after_and_nothing_is_lost_when_space_returns(small_disk, tmp_path, report):
    db = small_disk / "store.sqlite3"
    argv = ("--config", str(collector_config(tmp_path, shed_retry_after_seconds=1)), "--ingest-workers", "1")
    collector, url = collector_process(db, *argv)
    probes = UploadingProbes(tmp_path, str(db), [url], count=6)
    try:
        probes.start()
        fill(small_disk, LEFT_FREE_BYTES)
        wait_for(lambda: probes.answers()[503] >= 20, 60, "503 answers while the disk is full")
        full_answers = dict(probes.answers())
        (small_disk / "filler").unlink()
        probes.drain(90)
        alive = collector.poll() is None
    finally:
        collector.kill()
        _, errors = collector.communicate(timeout=10)
        probes.stop()
    figures = {**probes.figures(), "503_while_full": full_answers.get(503, 0)}
    report("store disk full, then space returns", figures)
    assert alive, errors[-2000:]
    assert_exact(figures)
    assert {status for status in figures["answers"] if status.isdigit() and int(status) >= 500} == {"503"}, figures
    assert "Traceback" not in errors, errors[-2000:]
