"""Who may write what, through nginx: a school's token writes only its own school; revoked, expired and
invented tokens write nothing; a replayed batch adds nothing."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from collectors import enrolment
from collectors.store import Store
from tests.helpers.collector import enrolled
from tests.helpers.records import as_json, latency_records


def batch(probe_id: str, school_id: str, records: list[dict]) -> bytes:
    return json.dumps({"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": probe_id,
                       "school_id": school_id, "sent_at": datetime.now(timezone.utc).isoformat(),
                       "measurements": records}).encode()


def post(front, token: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{front.nginx.url}/api/v1/measurements", content=body, verify=front.nginx.verify(),
                      headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def ids(front, school_id: str | None = None) -> list[str]:
    store = Store(front.db)
    try:
        return store.measurement_ids(school_id)
    finally:
        store.close()


def test_a_schools_token_cannot_write_another_schools_results(front, tmp_path):
    mine = enrolled(front.nginx.url, front.db, "KZ-001", tmp_path / "a", front.nginx.ca_file)
    theirs = enrolled(front.nginx.url, front.db, "KZ-002", tmp_path / "b", front.nginx.ca_file)
    forged = as_json(latency_records("KZ-002", theirs.probe_id, 3))
    # As the other school and probe, as the other school under my probe id, as me with their records inside.
    whole_batches = [post(front, mine.token, batch(theirs.probe_id, "KZ-002", forged)),
                     post(front, mine.token, batch(mine.probe_id, "KZ-002", forged)),
                     post(front, mine.token, batch(theirs.probe_id, "KZ-001", forged))]
    own = as_json(latency_records("KZ-001", mine.probe_id, 2))
    mixed = post(front, mine.token, batch(mine.probe_id, "KZ-001", forged + own))
    assert [answer.status_code for answer in whole_batches] == [403, 403, 403]
    assert all("only write its own school" in answer.json()["detail"] for answer in whole_batches)
    assert mixed.status_code == 200
    assert [r["status"] for r in mixed.json()["results"]] == ["rejected"] * 3 + ["accepted"] * 2
    assert ids(front, "KZ-002") == [] and sorted(ids(front)) == sorted(record["measurement_id"] for record in own)


@pytest.mark.parametrize("how", ["revoked", "expired", "invented", "dash", "not bearer"])
def test_revoked_expired_and_invented_tokens_get_401_and_store_nothing(front, tmp_path, how):
    credentials = enrolled(front.nginx.url, front.db, "KZ-001", tmp_path / "probe", front.nginx.ca_file)
    token, scheme = credentials.token, "Bearer"
    store = Store(front.db)
    try:
        if how == "revoked":
            store.revoke(credentials.probe_id, time.time())
        elif how == "expired":
            store.replace_token(credentials.probe_id, enrolment.digest(token), time.time() - 1)
    finally:
        store.close()
    if how == "invented":
        token = "A" + token[1:]
    elif how == "dash":
        scheme, token = "Bearer", "-"
    elif how == "not bearer":
        scheme = "Basic"
    body = batch(credentials.probe_id, "KZ-001", as_json(latency_records("KZ-001", credentials.probe_id, 2)))
    answer = httpx.post(f"{front.nginx.url}/api/v1/measurements", content=body, verify=front.nginx.verify(),
                        headers={"Authorization": f"{scheme} {token}", "Content-Type": "application/json"})
    config = httpx.get(f"{front.nginx.url}/api/v1/probe/config", verify=front.nginx.verify(),
                       headers={"Authorization": f"{scheme} {token}"})
    assert (answer.status_code, config.status_code) == (401, 401)
    assert answer.headers["www-authenticate"] == "Bearer" and ids(front) == []


def test_a_replayed_batch_adds_nothing(front, tmp_path):
    credentials = enrolled(front.nginx.url, front.db, "KZ-001", tmp_path / "probe", front.nginx.ca_file)
    records = as_json(latency_records("KZ-001", credentials.probe_id, 5))
    body = batch(credentials.probe_id, "KZ-001", records)
    first = post(front, credentials.token, body)
    after_first = sorted(ids(front))
    replays = [post(front, credentials.token, body),                                   # the same bytes again
               post(front, credentials.token, batch(credentials.probe_id, "KZ-001", records))]   # a new batch id
    assert [r["status"] for r in first.json()["results"]] == ["accepted"] * 5
    for replay in replays:
        assert replay.status_code == 200 and [r["status"] for r in replay.json()["results"]] == ["duplicate"] * 5
    assert sorted(ids(front)) == after_first == sorted(record["measurement_id"] for record in records)
