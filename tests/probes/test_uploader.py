"""Outbox and uploader against a real collector: only acknowledged records leave, refusals are set aside."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from collectors.api import IngestSettings
from collectors.settings import CollectorSettings
from collectors.store import Store
from probes.clock import Clock
from probes.config import UploadSettings
from probes.outbox import Outbox
from probes.uploader import REFUSALS_BEFORE_NARROWING, Uploader
from tests.helpers.collector import collector_thread, enrolled
from tests.helpers.records import latency_records

FAST = UploadSettings(batch_records=50, interval_seconds=0.1, backoff_initial_seconds=0.1, backoff_max_seconds=1)


def drain(url, credentials, outbox, rounds=20, settings=FAST, clock=None):
    """Call upload_once until the outbox is empty or `rounds` answers came; returns the uploader."""
    async def main():
        uploader = Uploader(url, credentials, outbox, settings, clock or Clock())
        for _ in range(rounds):
            await uploader.upload_once()
            if outbox.depth()[0] == 0:
                break
        return uploader
    return asyncio.run(main())


@pytest.fixture
def collector(tmp_path):
    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db)) as url:
        yield url, db


def stored_ids(db):
    store = Store(db)
    try:
        return set(store.measurement_ids())
    finally:
        store.close()


def test_the_outbox_is_durable_sqlite(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    records = latency_records("KZ-001", "p-1", 3)
    assert outbox.add(records) == 3 and outbox.add(records[:1]) == 0
    outbox.close()
    raw = sqlite3.connect(tmp_path / "outbox.sqlite3")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = Outbox(tmp_path / "outbox.sqlite3")
    assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2      # FULL
    assert [i for i, _ in again.oldest(10)] == [r.measurement_id for r in records]


def test_everything_acknowledged_leaves_and_nothing_else(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    records = latency_records("KZ-001", credentials.probe_id, 120)
    outbox.add(records)
    clock = Clock(ntp=lambda: False)
    uploader = drain(url, credentials, outbox, clock=clock)
    assert outbox.depth() == (0, 0)
    assert stored_ids(db) == {str(r.measurement_id) for r in records}
    assert uploader.stats.records["accepted"] == 120
    assert clock.source() == "collector-date" and abs(clock.offset_seconds()) < 1.5


def test_a_repeated_upload_after_a_crash_is_a_duplicate_and_settles(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    records = latency_records("KZ-001", credentials.probe_id, 10)
    first, second = Outbox(tmp_path / "a.sqlite3"), Outbox(tmp_path / "b.sqlite3")
    first.add(records)
    second.add(records)              # the same records, as if the acknowledgement was lost in a crash
    drain(url, credentials, first)
    uploader = drain(url, credentials, second)
    assert second.depth() == (0, 0) and uploader.stats.records["duplicate"] == 10
    assert len(stored_ids(db)) == 10


def test_records_the_collector_rejects_are_set_aside_with_the_reason(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add(latency_records("KZ-001", credentials.probe_id, 2) + latency_records("KZ-009", credentials.probe_id, 1))
    drain(url, credentials, outbox)
    assert outbox.depth() == (0, 1)
    [(_, reason)] = outbox.set_aside_reasons()
    assert "school_id='KZ-009'" in reason


def test_a_batch_refused_whole_is_retried_halved_then_set_aside_one_record_at_a_time(tmp_path):
    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db, ingest=IngestSettings(max_body_bytes=400))) as url:
        credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        outbox.add(latency_records("KZ-001", credentials.probe_id, 4))
        uploader = drain(url, credentials, outbox, rounds=4)
        assert outbox.depth() == (4, 0)            # halved twice; the single record is being retried, not dropped
        uploader = drain(url, credentials, outbox, rounds=40)
    assert outbox.depth() == (0, 4)
    assert uploader.stats.failures["refused"] == 4 * REFUSALS_BEFORE_NARROWING
    assert all("HTTP 413" in reason for _, reason in outbox.set_aside_reasons())


def test_routing_trouble_never_costs_the_outbox(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add(latency_records("KZ-001", credentials.probe_id, 3))
    uploader = drain(url + "/wrong-prefix", credentials, outbox, rounds=30)          # a proxy answering 404
    assert outbox.depth() == (3, 0) and uploader.stats.failures["refused"] == 30


def test_an_unreachable_collector_keeps_everything_and_backs_off(tmp_path):
    credentials_dir = tmp_path / "probe"
    from probes.identity import Credentials

    credentials = Credentials(probe_id="p-1", school_id="KZ-001", token="t" * 43, expires_at="2030-01-01T00:00:00Z")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add(latency_records("KZ-001", "p-1", 5))

    async def main():
        uploader = Uploader("http://127.0.0.1:9", credentials, outbox, FAST, Clock())
        return [await uploader.upload_once() for _ in range(6)], uploader

    delays, uploader = asyncio.run(main())
    assert outbox.depth() == (5, 0) and uploader.stats.failures["network"] == 6
    assert all(0 <= delay <= FAST.backoff_max_seconds for delay in delays)
    assert not credentials_dir.exists()



def test_a_stored_record_this_version_cannot_read_is_set_aside_and_the_rest_uploaded(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    good, unreadable = latency_records("KZ-001", credentials.probe_id, 2)
    outbox.add([good])
    body = unreadable.model_dump_json().replace('"clock_offset_seconds":0.1', '"clock_offset_seconds":1e11')
    outbox._db.execute("INSERT INTO pending (measurement_id, body, created) VALUES (?, ?, 0)",     # an older build's
                       (str(unreadable.measurement_id), body))
    uploader = drain(url, credentials, outbox)
    assert outbox.depth() == (0, 1) and stored_ids(db) == {str(good.measurement_id)}
    [(measurement_id, reason)] = outbox.set_aside_reasons()
    assert measurement_id == str(unreadable.measurement_id) and "clock_offset_seconds=100000000000.0" in reason
    assert uploader.stats.records == {"accepted": 1, "duplicate": 0, "rejected": 1}
