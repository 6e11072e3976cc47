"""The store on SQLite and on PostgreSQL: the same schema, the same answers."""

from __future__ import annotations

import time

from collectors import enrolment
from collectors.store import Store
from tests.helpers.records import latency_records


def test_inserts_are_idempotent_and_latest_keeps_the_newest_trusted(store_url):
    store = Store(store_url)
    try:
        older, newer = latency_records("KZ-001", "p-1", 2)
        assert store.insert([newer], [False]) == [True]
        assert store.insert([older, newer], [False, False]) == [True, False]
        skewed = latency_records("KZ-001", "p-1", 1, offset=None)[0]
        assert store.insert([skewed], [True]) == [True]           # kept, quarantined, not the latest value
        assert store.latest()[("KZ-001", "latency")] == newer
        assert store.count() == 3 and store.count(quarantined=True) == 1
        trusted = store.trusted_between(0, time.time() + 1)
        assert sorted(m.measurement_id for m in trusted) == sorted([older.measurement_id, newer.measurement_id])
    finally:
        store.close()


def test_migrations_run_once(store_url):
    Store(store_url).close()
    again = Store(store_url)
    try:
        assert again.count() == 0
    finally:
        again.close()


def test_codes_and_tokens(store_url):
    store = Store(store_url)
    try:
        code = enrolment.issue_code(store, "KZ-001")
        assert enrolment.enroll(store, "KZ-002", code) is None
        issued = enrolment.enroll(store, "KZ-001", code)
        assert issued is not None and enrolment.enroll(store, "KZ-001", code) is None
        assert enrolment.authenticate(store, issued.token).probe_id == issued.probe_id
        rotated = enrolment.rotate(store, enrolment.authenticate(store, issued.token))
        assert enrolment.authenticate(store, issued.token) is not None          # until the new one is used
        assert enrolment.authenticate(store, rotated.token) is not None
        assert enrolment.authenticate(store, issued.token) is None
        assert store.revoke(issued.probe_id, time.time()) and enrolment.authenticate(store, rotated.token) is None
        assert [p.probe_id for p in store.probes()] == [issued.probe_id]
    finally:
        store.close()
