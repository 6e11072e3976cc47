"""A record answered "duplicate" changes nothing: not the stored row, not `latest` (what /metrics exports),
not the days to roll up. Through the real ingest API, on SQLite and on PostgreSQL (with ingest workers)."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from collectors.settings import CollectorSettings
from collectors.store import Store
from tests.helpers.cli import FIXTURES
from tests.helpers.collector import collector_thread, enrolled
from tests.helpers.records import as_json, latency_records


@pytest.fixture
def collector(store_url):
    """A collector with the three-school registry and no maintenance pass during the test (days stay dirty)."""
    config = CollectorSettings(db=store_url, registry=FIXTURES / "registry" / "valid.csv",
                             maintenance_every_seconds=3600.0,
                             ingest_workers=2 if store_url.startswith("postgresql") else 0)
    with collector_thread(config) as url:
        yield url, store_url


def post(url, credentials, records) -> list[str]:
    """Send one batch; the statuses of its records."""
    body = {"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": credentials.probe_id,
            "school_id": credentials.school_id, "sent_at": datetime.now(timezone.utc).isoformat(),
            "measurements": records}
    answer = httpx.post(f"{url}/api/v1/measurements", content=json.dumps(body),
                        headers={"Authorization": f"Bearer {credentials.token}", "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    return [result["status"] for result in answer.json()["results"]]


def changed(record: dict, rtt_seconds: float, days_earlier: int = 0, school_id: str | None = None,
            probe_id: str | None = None) -> dict:
    """The same measurement id with other content: another RTT, a second later (and days earlier), another school."""
    end = datetime.fromisoformat(record["end"]) + timedelta(seconds=1) - timedelta(days=days_earlier)
    return record | {"values": record["values"] | {"rtt_median_seconds": rtt_seconds},
                     "start": (end - timedelta(seconds=0.5)).isoformat(), "end": end.isoformat(),
                     "school_id": school_id or record["school_id"], "probe_id": probe_id or record["probe_id"]}


def exported_rtts(url: str) -> dict[str, float]:
    """mektepnet_school_rtt_seconds per school, as /metrics exports it."""
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    return {school: float(value) for school, value in
            re.findall(r'^mektepnet_school_rtt_seconds\{school_id="([^"]+)"\} (\S+)$', text, re.MULTILINE)}


def test_a_duplicate_moves_neither_latest_nor_the_days_to_roll_up(collector, tmp_path):
    url, db = collector
    first = enrolled(url, db, "KZ-001", tmp_path / "first")
    other = enrolled(url, db, "KZ-002", tmp_path / "other")
    [record] = as_json(latency_records("KZ-001", first.probe_id, 1))
    assert post(url, first, [record]) == ["accepted"]
    assert exported_rtts(url) == {"KZ-001": pytest.approx(0.02)}
    # The same id again, newer and with another RTT; then the id under another school.
    assert post(url, first, [changed(record, 0.9)]) == ["duplicate"]
    assert post(url, other, [changed(record, 0.5, school_id="KZ-002", probe_id=other.probe_id)]) == ["duplicate"]
    assert exported_rtts(url) == {"KZ-001": pytest.approx(0.02)}
    store = Store(db)
    try:
        assert list(store.latest()) == [("KZ-001", "latency")]
        assert store.latest()[("KZ-001", "latency")].values["rtt_median_seconds"] == pytest.approx(0.02)
        assert store.roll_up() == 1                                  # only the accepted record's day
        assert list(store.daily("KZ-001")) == [(_day(record), "latency")]
        assert store.daily("KZ-002") == {}
    finally:
        store.close()


def test_an_id_resent_on_another_day_is_a_duplicate_and_stored_once(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    [record] = as_json(latency_records("KZ-001", credentials.probe_id, 1))
    assert post(url, credentials, [record]) == ["accepted"]
    # Re-sent in later batches: ending two days earlier, then with a clock a day ahead (quarantined, a day earlier).
    assert post(url, credentials, [changed(record, 0.7, days_earlier=2)]) == ["duplicate"]
    assert post(url, credentials, [record | {"clock_offset_seconds": 86400.0}]) == ["duplicate"]
    assert exported_rtts(url) == {"KZ-001": pytest.approx(0.02)}
    store = Store(db)
    try:
        assert store.count() == 1
        [stored] = store.trusted_between(0, datetime.now(timezone.utc).timestamp() + 60)
        assert stored.model_dump(mode="json") == record
        assert store.roll_up() == 1
        assert list(store.daily("KZ-001")) == [(_day(record), "latency")]
    finally:
        store.close()


def test_one_id_twice_in_a_batch_stores_the_first_as_the_answer_says(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    [record] = as_json(latency_records("KZ-001", credentials.probe_id, 1))
    assert post(url, credentials, [record, changed(record, 0.7, days_earlier=2)]) == ["accepted", "duplicate"]
    assert exported_rtts(url) == {"KZ-001": pytest.approx(0.02)}
    store = Store(db)
    try:
        [stored] = store.trusted_between(0, datetime.now(timezone.utc).timestamp() + 60)
        assert stored.model_dump(mode="json") == record
        assert store.latest()[("KZ-001", "latency")] == stored
        assert store.roll_up() == 1
        assert list(store.daily("KZ-001")) == [(_day(record), "latency")]
    finally:
        store.close()


def _day(record: dict) -> str:
    from collectors.store import local_day
    from core.measurement import Measurement

    return local_day(Measurement.model_validate(record))
