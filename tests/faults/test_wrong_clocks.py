"""Probes whose clocks are wrong by hours and by decades: every result is stored (nothing lost, nothing
twice) but quarantined, so none of them is a school's latest value or reaches a verdict.

Each probe learns its offset from the collector's `Date` header and stamps it on every result; the
collector quarantines a result whose offset is beyond its bound, or unknown (sent before the first
answer taught the probe its offset).
"""

from __future__ import annotations

import time

from collectors.settings import CollectorSettings
from collectors.store import Store
from tests.helpers.collector import collector_thread
from tests.helpers.oracle import assert_exact, judge, stored_ids, wait_for
from tests.helpers.uploading_probes import ProbeSpec, UploadingProbes

YEAR_SECONDS = 365.25 * 86400
ERRORS = {"HRS": 3 * 3600.0, "HRB": -5 * 3600.0, "DCF": 30 * YEAR_SECONDS, "DCB": -25 * YEAR_SECONDS, "OK-": 0.0}


def test_probe_clocks_wrong_by_hours_and_decades_are_stored_quarantined_and_never_judged(tmp_path, report):
    db = tmp_path / "store.sqlite3"
    with collector_thread(CollectorSettings(db=db)) as url:
        groups = {prefix: UploadingProbes(tmp_path, str(db), [url], count=2, school_prefix=prefix,
                                          spec=ProbeSpec(clock_error_seconds=error))
                  for prefix, error in ERRORS.items()}
        try:
            for probes in groups.values():
                probes.start()
            wait_for(lambda: all(probes.committed() >= 100 for probes in groups.values()), 30, "results committed")
            for probes in groups.values():
                probes.drain(30)
        finally:
            for probes in groups.values():
                probes.stop()
    figures = judge([path for probes in groups.values() for path in probes.outboxes], stored_ids(db))
    store = Store(db)
    try:
        trusted = {m.school_id for m in store.trusted_between(0, time.time() + 10 * YEAR_SECONDS * 10)}
        latest = {school for school, _ in store.latest()}
        quarantined = store.count(quarantined=True)
    finally:
        store.close()
    wrong = {probe.school_id for prefix, probes in groups.items() if ERRORS[prefix] for probe in probes.credentials}
    figures |= {"quarantined": quarantined, "wrong_clock_schools_judged": len(wrong & (trusted | latest))}
    report("probe clocks wrong by hours and decades", figures)
    assert_exact(figures)
    assert not wrong & trusted and not wrong & latest, figures
    assert {"OK-000", "OK-001"} <= trusted, "the probes with a right clock must be judged (else the test proves nothing)"
    assert quarantined >= sum(groups[prefix].committed() for prefix in ERRORS if ERRORS[prefix]), figures


def test_a_probe_decades_behind_that_never_reached_the_collector_before_measuring_loses_nothing(tmp_path):
    db = tmp_path / "store.sqlite3"
    with collector_thread(CollectorSettings(db=db)) as url:
        with UploadingProbes(tmp_path, str(db), [url], count=2,
                             spec=ProbeSpec(clock_error_seconds=ERRORS["DCB"], learn_clock_first=False)) as probes:
            probes.start()
            wait_for(lambda: probes.committed() >= 50, 30, "results committed")
            probes.drain(30)
    assert_exact(probes.figures())
