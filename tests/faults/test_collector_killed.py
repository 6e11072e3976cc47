"""A collector SIGKILLed and restarted again and again while probes upload: nothing lost, nothing twice.

The kill lands anywhere: between batches, while a worker writes, after a commit and before the
acknowledgement left (the probe then sends the batch again and is answered "duplicate").
"""

from __future__ import annotations

import random
import time

from tests.faults.conftest import collector_config
from tests.helpers.collector import collector_process
from tests.helpers.oracle import assert_exact, stored_ids, wait_for
from tests.helpers.ports import free_port
from tests.helpers.uploading_probes import UploadingProbes

KILLS = 6


def test_a_collector_killed_and_restarted_under_upload_load_loses_and_duplicates_nothing(tmp_path, report):
    db, port, rng = tmp_path / "store.sqlite3", free_port(), random.Random(17)
    argv = ("--config", str(collector_config(tmp_path)), "--ingest-workers", "1")
    collector, url = collector_process(db, *argv, port=port)
    probes = UploadingProbes(tmp_path, str(db), [url], count=8)
    recoveries = []
    try:
        probes.start()
        for _ in range(KILLS):
            before = len(stored_ids(db))
            wait_for(lambda: len(stored_ids(db)) > before, 30, "the collector storing again")
            time.sleep(rng.uniform(0.1, 1.5))
            collector.kill()
            collector.wait(10)
            time.sleep(rng.uniform(0.1, 1.0))
            restarted = time.monotonic()
            collector, _ = collector_process(db, *argv, port=port)
            stored = len(stored_ids(db))
            wait_for(lambda: len(stored_ids(db)) > stored, 30, "a batch stored after the restart")
            recoveries.append(time.monotonic() - restarted)
        probes.drain(60)
    finally:
        collector.kill()
        collector.wait(10)
        probes.stop()
    figures = {**probes.figures(), "kills": KILLS, "recover_max_seconds": round(max(recoveries), 1)}
    report("collector SIGKILL x6", figures)
    assert_exact(figures)
    assert figures["committed"] >= 1000, figures
