"""Two collector replicas on one PostgreSQL: probes configured with both fail over when one is killed.

Acknowledgements stay exact across replicas: the store claims each id in the insert transaction, so a
batch sent to one replica and again to the other after a lost answer is stored once. The probes stay
with the replica that answers (sticky) after the killed one is back.
"""

from __future__ import annotations

from tests.faults.conftest import collector_config
from tests.helpers.collector import collector_process
from tests.helpers.oracle import assert_exact, stored_ids, wait_for
from tests.helpers.uploading_probes import UploadingProbes


def test_a_replica_killed_while_its_probes_fail_over_to_the_other_loses_and_duplicates_nothing(
        tmp_path, postgres, report):
    db = postgres.database()
    argv = ("--config", str(collector_config(tmp_path)), "--ingest-workers", "1")
    first, first_url = collector_process(db, *argv)
    second, second_url = collector_process(db, *argv)
    probes = UploadingProbes(tmp_path, db, [first_url, second_url], count=10)
    try:
        probes.start()
        wait_for(lambda: len(stored_ids(db)) > 500, 30, "the first replica storing")
        assert {uploader.active_collector for uploader in probes.uploaders} == {first_url}
        first.kill()
        first.wait(10)
        failed_over = len(stored_ids(db))
        wait_for(lambda: all(u.active_collector == second_url for u in probes.uploaders), 30,
                 "every probe failing over to the second replica")
        wait_for(lambda: len(stored_ids(db)) > failed_over + 500, 30, "the second replica storing")
        first, _ = collector_process(db, *argv, port=int(first_url.rsplit(":", 1)[1]))
        probes.drain(60)
        sticky = {uploader.active_collector for uploader in probes.uploaders}
    finally:
        for process in (first, second):
            process.kill()
            process.wait(10)
        probes.stop()
    figures = probes.figures()
    report("replica killed, probes fail over", figures)
    assert_exact(figures)
    assert figures["answers"]["network"] > 0 and figures["5xx"] == 0, figures
    assert sticky == {second_url}, "probes went back to the restarted replica although the other answered"


def test_fallback_collectors_are_checked_like_the_collector_and_listed_after_it():
    from core.errors import CoreError
    from probes.config import ProbeConfig

    config = ProbeConfig(collector="https://a.edu.kz/", fallback_collectors=["https://b.edu.kz", "https://a.edu.kz"],
                         school_id="KZ-001")
    assert config.collectors == ("https://a.edu.kz", "https://b.edu.kz")
    try:
        ProbeConfig(collector="https://a.edu.kz", fallback_collectors=["http://198.18.0.1:8443"], school_id="KZ-001")
    except (CoreError, ValueError) as exc:
        assert "fallback_collectors" in str(exc) and "198.18.0.1" in str(exc)
    else:
        raise AssertionError("a plain-http fallback outside loopback was accepted")
