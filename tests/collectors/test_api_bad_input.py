"""Hostile input through a real collector (issue 17): a 4xx or one rejected record, never a 5xx, never a lost batch."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import pytest

from collectors.settings import CollectorSettings
from tests.collectors.test_api import batch, post, records_for, stored_count
from tests.helpers.collector import collector_thread, enrolled


@pytest.fixture
def collector(store_url):
    """As in test_api: on PostgreSQL the batches go through two ingest worker processes."""
    workers = 2 if store_url.startswith("postgresql") else 0
    with collector_thread(CollectorSettings(db=store_url, ingest_workers=workers)) as url:
        yield url, store_url


@pytest.fixture
def sqlite_collector(tmp_path):
    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db)) as url:
        yield url, db


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [300, 900, 1_000, 5_000, 100_000])
def test_a_deeply_nested_body_is_a_400_wherever_the_nesting_is(sqlite_collector, tmp_path, depth):
    url, db = sqlite_collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    [record] = records_for(credentials, 1)
    envelope = json.dumps(batch(credentials, [record]))
    in_a_record = envelope.replace('"loss_ratio"', f'"deep": {nested(depth)}, "loss_ratio"', 1)
    in_the_envelope = envelope.replace('"sent_at"', f'"deep": {nested(depth)}, "sent_at"', 1)
    answers = [post(url, credentials, body.encode()) for body in (nested(depth), in_a_record, in_the_envelope)]
    assert [answer.status_code for answer in answers] == [400] * 3
    assert all("nested deeper" in answer.json()["detail"] for answer in answers)
    assert stored_count(db) == 0


def test_a_huge_clock_offset_rejects_its_record_only(collector, tmp_path):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    good, ahead, behind = records_for(credentials, 3)
    ahead["clock_offset_seconds"], behind["clock_offset_seconds"] = 1e11, -2.6e11
    answer = post(url, credentials, batch(credentials, [good, ahead, behind]))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert "clock_offset_seconds=100000000000.0" in results[1]["reason"]
    assert "clock_offset_seconds=-260000000000.0" in results[2]["reason"]
    assert stored_count(db) == 1


@pytest.mark.parametrize("character", ["\udfff", "\ud800", "\x00"])
def test_a_string_no_store_can_keep_rejects_its_record_only_in_every_string_field(collector, tmp_path, character):
    url, db = collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    good, *bad = records_for(credentials, 8)
    bad[0]["attributes"] = {"interface": "eth" + character}
    bad[1]["attributes"] = {"eth" + character: "x"}
    bad[2]["target"] = "198.18.0.1" + character
    bad[3]["method"] = "icmp" + character
    bad[4]["method_version"] = character
    bad[5]["probe_version"] = "1" + character
    bad[6]["error"] = "timeout" + character
    answer = post(url, credentials, json.dumps(batch(credentials, [good, *bad])).encode())      # JSON escapes it
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 7
    fields = ["attributes", "attributes", "target", "method", "method_version", "probe_version", "error"]
    assert all(field in result["reason"] for field, result in zip(fields, results[1:]))
    assert stored_count(db) == 1


def test_a_lone_surrogate_in_the_envelope_is_a_422_not_a_500(sqlite_collector, tmp_path):
    url, db = sqlite_collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    body = batch(credentials, records_for(credentials, 1))
    answers = [post(url, credentials, json.dumps(body | change).encode())
               for change in ({"\udfff": 1}, {"sent_at": "\udfff"}, {"batch_id": "\udfff" * 100_000})]
    assert [answer.status_code for answer in answers] == [422] * 3
    assert all(len(answer.content) < 2_000 for answer in answers) and stored_count(db) == 0


def _read_answer(raw: socket.socket) -> str:
    """One whole HTTP answer from a raw socket: the head, then as many body bytes as it declares."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += raw.recv(4096) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length and (chunk := raw.recv(4096)):
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_enrolment_has_a_body_limit_before_reading_and_its_422_echoes_little(sqlite_collector):
    url, _ = sqlite_collector
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as raw:            # a huge declared body, none of it sent
        raw.sendall(b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 80000000\r\n\r\n")
        declared = _read_answer(raw)
    chunks = (b"x" * 4096 for _ in range(20_000))                       # 80 MB offered without a length
    chunked = httpx.post(f"{url}/api/v1/enroll", content=chunks, headers={"Content-Type": "application/json"})
    echo = {"school_id": "KZ-001", "enrollment_code": "A" * 64, "padding": "y" * 15_000}
    invalid = httpx.post(f"{url}/api/v1/enroll", json=echo)
    assert declared.startswith("HTTP/1.1 413") and "content-length=80000000" in declared
    assert chunked.status_code == 413 and "limit" in chunked.json()["detail"]
    assert invalid.status_code == 422 and len(invalid.content) < 1_000
    assert invalid.json()["detail"][0]["loc"] == ["body", "padding"]


def test_a_chunked_batch_over_the_limit_is_cut_off_with_413(sqlite_collector, tmp_path):
    url, db = sqlite_collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    chunks = (b" " * 65_536 for _ in range(100))
    answer = httpx.post(f"{url}/api/v1/measurements", content=chunks,
                        headers={"Authorization": f"Bearer {credentials.token}", "Content-Type": "application/json"})
    assert answer.status_code == 413 and "limit" in answer.json()["detail"]


def test_an_aborted_upload_logs_one_line_without_a_traceback(sqlite_collector, tmp_path, caplog):
    url, db = sqlite_collector
    credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
    host, port = url.removeprefix("http://").split(":")
    caplog.set_level(logging.INFO)
    for _ in range(3):
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(f"POST /api/v1/measurements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        f"Authorization: Bearer {credentials.token}\r\nContent-Length: 100000\r\n\r\n".encode()
                        + b"{" * 1000)
    for _ in range(100):
        aborted = [r for r in caplog.records if "aborted" in r.getMessage()]
        if len(aborted) == 3:
            break
        time.sleep(0.1)
    assert len(aborted) == 3 and credentials.probe_id in aborted[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert post(url, credentials, batch(credentials, records_for(credentials, 1))).status_code == 200
