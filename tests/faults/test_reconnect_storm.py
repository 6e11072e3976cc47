"""Every probe reconnecting at once after a national outage: the collector sheds what it cannot take
with 503 and Retry-After, then drains the whole backlog, every record acknowledged exactly once.

The simulated fleet (collectors.fleet_upload.via_api) enrols one probe per school through the API and
sends all its schools' batches at once; the collector has few ingest slots, so most first attempts are
shed. The oracle compares the records the fleet held with the ids stored.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from collectors.api import IngestSettings
from collectors.fleet_upload import via_api
from collectors.settings import CollectorSettings
from collectors.simulator import FleetSimulator
from core.synthetic import generate_registry
from tests.helpers.collector import collector_thread
from tests.helpers.oracle import stored_ids


def storm(tmp_path, calendar, schools: int, max_in_flight: int, ingest_workers: int) -> dict:
    """All `schools` upload two recent days at once to a collector with `max_in_flight` slots; the figures."""
    db = tmp_path / "store.sqlite3"
    monday = date.today() - timedelta(days=date.today().weekday() + 7)
    simulator = FleetSimulator(generate_registry(schools, seed=17), calendar, seed=17)
    held = [str(m.measurement_id) for records in simulator.days(monday, 2) for m in records]
    ingest = IngestSettings(max_in_flight=max_in_flight, shed_retry_after_seconds=1,
                            batches_per_token_per_hour=1_000_000, batch_burst=100_000)
    with collector_thread(CollectorSettings(db=db, ingest=ingest, ingest_workers=ingest_workers)) as url:
        report = via_api(simulator, url, str(db), monday, 2, concurrency=schools)
    stored = stored_ids(db)
    repeats = sum(count - 1 for count in Counter(stored).values())
    return {"schools": schools, "committed": len(held), "stored": len(stored), "lost": len(set(held) - set(stored)),
            "unknown": len(set(stored) - set(held)), "duplicated": repeats,
            "503": report.refusals.get(503, 0), "429": report.refusals.get(429, 0),
            "other_refusals": sum(n for status, n in report.refusals.items() if status not in (429, 503)),
            "drained_seconds": round(report.seconds, 1), **report.records}


def check(figures: dict) -> None:
    assert figures["committed"] > 0 and figures["503"] > 0, f"nothing was shed: the test proves nothing {figures}"
    assert figures["lost"] == 0 and figures["unknown"] == 0 and figures["duplicated"] == 0, figures
    assert figures["stored"] == figures["committed"] == figures["accepted"], figures
    assert figures["other_refusals"] == 0 and figures["rejected"] == 0, figures


def test_every_probe_reconnecting_at_once_is_shed_then_drained_exactly(tmp_path, calendar, report):
    figures = storm(tmp_path, calendar, schools=100, max_in_flight=2, ingest_workers=0)
    report("reconnect storm, 100 probes", figures)
    check(figures)


@pytest.mark.full
@pytest.mark.timeout(2400)          # a national school day drains in minutes on 2 cores
def test_the_whole_country_reconnecting_at_once_is_shed_then_drained_exactly(tmp_path, calendar, report):
    figures = storm(tmp_path, calendar, schools=7500, max_in_flight=16, ingest_workers=2)
    report("reconnect storm, 7,500 probes", figures)
    check(figures)
