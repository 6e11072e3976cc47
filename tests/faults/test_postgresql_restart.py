"""PostgreSQL stopped as if it crashed and started again, twice, while probes upload through two collectors.

While it is down the collectors answer 503 with Retry-After (the probe keeps its records); when it
is back they reconnect by themselves and the backlog drains: nothing lost, nothing twice.
"""

from __future__ import annotations

import time

from tests.faults.conftest import collector_config
from tests.helpers.collector import collector_process
from tests.helpers.oracle import assert_exact, stored_ids, wait_for
from tests.helpers.postgres import postgres_cluster
from tests.helpers.uploading_probes import UploadingProbes

RESTARTS = 2


def test_postgresql_restarted_under_load_loses_and_duplicates_nothing(tmp_path, report):
    with postgres_cluster() as cluster:
        db = cluster.database()
        argv = ("--config", str(collector_config(tmp_path, shed_retry_after_seconds=1)), "--ingest-workers", "1")
        collectors = [collector_process(db, *argv) for _ in range(2)]
        probes = UploadingProbes(tmp_path, db, [url for _, url in collectors], count=8)
        recoveries = []
        try:
            probes.start()
            for _ in range(RESTARTS):
                before = len(stored_ids(db))
                wait_for(lambda: len(stored_ids(db)) > before + 200, 30, "the collectors storing")
                cluster.stop("immediate")
                time.sleep(3)                   # several upload rounds meet a store that is not there
                cluster.start()
                restarted, stored = time.monotonic(), len(stored_ids(db))
                wait_for(lambda: len(stored_ids(db)) > stored, 60, "a batch stored after PostgreSQL came back")
                recoveries.append(time.monotonic() - restarted)
            probes.drain(90)
            alive = [process.poll() is None for process, _ in collectors]
        finally:
            for process, _ in collectors:
                process.kill()
                process.wait(10)
            probes.stop()
        figures = {**probes.figures(), "restarts": RESTARTS, "recover_max_seconds": round(max(recoveries), 1)}
    report("PostgreSQL restarted x2", figures)
    assert all(alive), "a collector exited when PostgreSQL went away"
    assert_exact(figures)
    statuses = {status for status in figures["answers"] if status.isdigit() and int(status) >= 500}
    assert statuses <= {"503"}, figures
