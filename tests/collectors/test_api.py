"""The ingest API through a real uvicorn server: enrolment, authentication, idempotency, quarantine, bad input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from collectors import enrolment
from collectors.api import IngestSettings
from collectors.settings import CollectorSettings
from collectors.store import Store
from tests.helpers.collector import collector_thread, enrolled
from tests.helpers.records import as_json, latency_records


@pytest.fixture
def collector(store_url):
    """A collector on each engine (SQLite, PostgreSQL): the API must answer the same. On PostgreSQL batches
    go through two ingest worker processes, on SQLite they are stored in the API's own process."""
    workers = 2 if store_url.startswith("postgresql") else 0
    with collector_thread(CollectorSettings(db=store_url, ingest_workers=workers)) as url:
        yield url, store_url


def batch(credentials, records):
    return {"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": credentials.probe_id,
            "school_id": credentials.school_id, "sent_at": datetime.now(timezone.utc).isoformat(),
            "measurements": records}


def records_for(credentials, count=3, offset=0.1):
    return as_json(latency_records(credentials.school_id, credentials.probe_id, count, offset))


def stored_count(db, quarantined=None) -> int:
    store = Store(db)
    try:
        return store.count(quarantined)
    finally:
        store.close()


def post(url, credentials, body, token=None):
    return httpx.post(f"{url}/api/v1/measurements", content=body if isinstance(body, bytes) else json.dumps(body),
                      headers={"Authorization": f"Bearer {token or credentials.token}",
                               "Content-Type": "application/json"})


def test_enrolment_codes_work_once_and_only_for_their_school(collector, tmp_path):
    url, db = collector
    store = Store(db)
    code = enrolment.issue_code(store, "KZ-001")
    store.close()
    wrong_school = httpx.post(f"{url}/api/v1/enroll", json={"school_id": "KZ-002", "enrollment_code": code})
    first = httpx.post(f"{url}/api/v1/enroll", json={"school_id": "KZ-001", "enrollment_code": code.lower()})
    again = httpx.post(f"{url}/api/v1/enroll", json={"school_id": "KZ-001", "enrollment_code": code})
    assert wrong_school.status_code == 403 and "KZ-002" in wrong_school.json()["detail"]
    assert first.status_code == 201 and first.json()["probe_id"].startswith("p-kz-001-")
    assert again.status_code == 403
    assert "date" in first.headers
    stored = Store(db)
    hashes = [row[0] for row in stored._db.execute("SELECT code_hash FROM enrolment_codes").fetchall()]
    assert hashes == [enrolment.digest(enrolment.normalise_code(code))] and len(stored.probes()) == 1
    stored.close()


def test_batches_are_acknowledged_per_record_and_idempotent(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    good = records_for(credentials)
    bad = dict(good[0], measurement_id=str(uuid.uuid4()), values={"loss_ratio": float("inf")})
    body = batch(credentials, [*good, bad])
    first = post(url, credentials, json.dumps(body, allow_nan=True).encode())
    second = post(url, credentials, body | {"batch_id": str(uuid.uuid4()), "measurements": good})
    assert first.status_code == 200, first.text
    statuses = [r["status"] for r in first.json()["results"]]
    assert statuses == ["accepted"] * 3 + ["rejected"]
    assert "loss_ratio" in first.json()["results"][3]["reason"]
    assert [r["status"] for r in second.json()["results"]] == ["duplicate"] * 3
    assert stored_count(db) == 3


def test_unknown_clock_and_large_offsets_are_kept_but_quarantined(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    unknown = records_for(credentials, 1, offset=None)
    skewed = records_for(credentials, 1, offset=3600.0)
    fine = records_for(credentials, 1, offset=0.3)
    answer = post(url, credentials, batch(credentials, unknown + skewed + fine))
    assert [r["status"] for r in answer.json()["results"]] == ["accepted"] * 3
    assert stored_count(db, quarantined=True) == 2 and stored_count(db, quarantined=False) == 1


def test_a_result_from_the_future_is_rejected_when_the_clock_was_known(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    [record] = records_for(credentials, 1, offset=0.0)
    later = datetime.now(timezone.utc) + timedelta(days=2)
    record |= {"start": later.isoformat(), "end": (later + timedelta(seconds=1)).isoformat()}
    [result] = post(url, credentials, batch(credentials, [record])).json()["results"]
    assert result["status"] == "rejected" and "in the future" in result["reason"]


def test_a_record_from_before_the_year_2000_is_rejected_and_its_batch_mates_kept(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    good, ancient = records_for(credentials, 2)
    ancient |= {"start": "0001-01-01T00:00:00+00:01", "end": "2000-01-01T00:00:00Z"}
    results = post(url, credentials, batch(credentials, [good, ancient])).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert "out of range" in results[1]["reason"] and stored_count(db) == 1


@pytest.mark.parametrize("case, status, words", [
    ("no token", 401, "token"),
    ("unknown token", 401, "token"),
    ("not json", 400, "not JSON"),
    ("wrong envelope", 422, "schema_version"),
    ("another school", 403, "own school"),
    ("too large", 413, "limit"),
    ("sent in year 1", 422, "out of range"),
])
def test_bad_requests_get_4xx_naming_the_problem(collector, tmp_path, case, status, words):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    body = batch(credentials, records_for(credentials, 1))
    headers = {"Authorization": f"Bearer {credentials.token}", "Content-Type": "application/json"}
    content = json.dumps(body).encode()
    if case == "no token":
        headers.pop("Authorization")
    elif case == "unknown token":
        headers["Authorization"] = "Bearer " + "x" * 43
    elif case == "not json":
        content = b"{not json"
    elif case == "wrong envelope":
        content = json.dumps(body | {"schema_version": 9}).encode()
    elif case == "another school":
        content = json.dumps(body | {"school_id": "KZ-002"}).encode()
    elif case == "too large":
        content = b" " * 5_000_000
    elif case == "sent in year 1":  # found by the fuzzer: UTC of this instant is before year 1
        content = json.dumps(body | {"sent_at": "0001-01-01T00:00:00+00:01"}).encode()
    answer = httpx.post(f"{url}/api/v1/measurements", content=content, headers=headers)
    assert answer.status_code == status and words in json.dumps(answer.json()["detail"])
    assert stored_count(db) == 0


def test_tokens_rotate_and_revoke(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    rotated = httpx.post(f"{url}/api/v1/probe/token", headers={"Authorization": f"Bearer {credentials.token}"})
    new_token = rotated.json()["token"]
    # The old token works until the new one is first used: a probe that lost the answer is not locked out.
    assert post(url, credentials, batch(credentials, records_for(credentials, 1))).status_code == 200
    assert post(url, credentials, batch(credentials, records_for(credentials, 1)), new_token).status_code == 200
    assert post(url, credentials, batch(credentials, records_for(credentials, 1))).status_code == 401
    store = Store(db)
    store.revoke(credentials.probe_id, datetime.now(timezone.utc).timestamp())
    store.close()
    assert post(url, credentials, batch(credentials, records_for(credentials, 1)), new_token).status_code == 401


def test_batches_beyond_the_rate_of_a_token_get_429_with_retry_after(tmp_path):
    db = tmp_path / "collector.sqlite3"
    settings = IngestSettings(batches_per_token_per_hour=3600, batch_burst=2)
    with collector_thread(CollectorSettings(db=db, ingest=settings)) as url:
        first = enrolled(url, db, "KZ-001", tmp_path / "a")
        second = enrolled(url, db, "KZ-001", tmp_path / "b")        # same school, same address: its own budget
        answers = [post(url, first, batch(first, records_for(first, 1))) for _ in range(3)]
        other = post(url, second, batch(second, records_for(second, 1)))
    assert [a.status_code for a in answers] == [200, 200, 429] and other.status_code == 200
    assert 0 < int(answers[2].headers["retry-after"]) <= 1 and "too often" in answers[2].json()["detail"]
    assert stored_count(db) == 3


def test_a_store_that_falls_behind_sheds_load_and_the_probe_keeps_its_records(tmp_path):
    from probes.clock import Clock
    from probes.config import UploadSettings
    from probes.outbox import Outbox
    from probes.uploader import Uploader

    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db, ingest=IngestSettings(max_in_flight=0))) as url:
        credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
        shed = post(url, credentials, batch(credentials, records_for(credentials, 1)))
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        outbox.add(latency_records("KZ-001", credentials.probe_id, 3))
        delay = asyncio.run(Uploader(url, credentials, outbox, UploadSettings(), Clock()).upload_once())
    assert shed.status_code == 503 and 10 <= int(shed.headers["retry-after"]) <= 20
    assert 10 <= delay <= 20 and outbox.depth() == (3, 0) and stored_count(db) == 0


def test_results_older_than_the_raw_retention_are_rejected(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    [old, fine] = records_for(credentials, 2, offset=0.0)
    long_ago = datetime.now(timezone.utc) - timedelta(days=800)
    old |= {"start": long_ago.isoformat(), "end": (long_ago + timedelta(seconds=1)).isoformat()}
    results = post(url, credentials, batch(credentials, [old, fine])).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert "older than the raw retention (13 months" in results[0]["reason"]


def test_an_expired_token_is_refused_and_changes_nothing(collector, tmp_path):
    url, db = collector
    store = Store(db)
    try:
        store.add_probe("p-old", "KZ-001", enrolment.digest("e" * 43), expires_at=time.time() - 1)
    finally:
        store.close()
    body = {"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": "p-old", "school_id": "KZ-001",
            "sent_at": datetime.now(timezone.utc).isoformat(),
            "measurements": as_json(latency_records("KZ-001", "p-old", 2))}
    answer = httpx.post(f"{url}/api/v1/measurements", json=body, headers={"Authorization": "Bearer " + "e" * 43})
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    assert stored_count(db) == 0


def test_ingest_workers_on_sqlite_answer_like_the_api_process_and_survive_a_killed_worker(tmp_path):
    import os
    import signal

    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db, ingest_workers=2)) as url:
        credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
        good = records_for(credentials, 5)
        first = post(url, credentials, batch(credentials, good))
        again = post(url, credentials, batch(credentials, good[2:] + records_for(credentials, 1)))
        not_json = post(url, credentials, b"{not json")
        foreign = post(url, credentials, batch(credentials, good) | {"school_id": "KZ-002"})
        children = os.popen(f"ps -o pid=,args= --ppid {os.getpid()}").read().splitlines()
        workers = [int(line.split()[0]) for line in children if "multiprocessing.spawn" in line]
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        lost = post(url, credentials, batch(credentials, records_for(credentials, 1)))
        later = post(url, credentials, batch(credentials, records_for(credentials, 2)))
    assert [r["status"] for r in first.json()["results"]] == ["accepted"] * 5
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3 + ["accepted"]
    assert not_json.status_code == 400 and foreign.status_code == 403
    assert lost.status_code == 503 and "retry-after" in lost.headers
    assert later.status_code == 200 and [r["status"] for r in later.json()["results"]] == ["accepted"] * 2
    assert stored_count(db) == 8


def test_a_collector_stopped_by_a_signal_leaves_no_ingest_worker_behind(tmp_path):
    from tests.helpers.collector import collector_process

    process, _ = collector_process(tmp_path / "collector.sqlite3", "--ingest-workers", "2")
    children = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(process.pid)], capture_output=True,
                              text=True).stdout.splitlines()
    workers = [int(line.split()[0]) for line in children if "multiprocessing.spawn" in line]
    process.terminate()
    process.wait(30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert len(workers) == 2 and not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
