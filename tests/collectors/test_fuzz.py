"""A fuzz run of the collector's API from its own OpenAPI description (schemathesis): no input gives a 5xx."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from collectors.api import IngestSettings
from collectors.settings import CollectorSettings
from collectors.store import Store
from tests.helpers.collector import collector_thread, enrolled


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A collector with one enrolled probe whose token every fuzzed request carries (rate limits out of the way)."""
    workdir = tmp_path_factory.mktemp("fuzz")
    db = workdir / "collector.sqlite3"
    ingest = IngestSettings(batches_per_token_per_hour=1e9, batch_burst=10**9)
    with collector_thread(CollectorSettings(db=db, ingest=ingest)) as url:
        yield url, db, enrolled(url, db, "KZ-001", workdir / "probe")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_makes_the_collector_fail(fuzzed, mode):
    """Every operation of the published schema, with bodies, queries and headers generated from it: valid
    ones, and ones that break it on purpose. (Sent with httpx: schemathesis' own `requests` transport
    trips over the urllib3-future that grafana-client's niquests installs.)"""
    url, _, credentials = fuzzed
    # Rotating the token would lock the fuzzer out after two calls; rotation has its own tests.
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json").exclude(path="/api/v1/probe/token")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {"POST /api/v1/measurements", "POST /api/v1/enroll"}
    statuses: Counter[int] = Counter()
    unbreakable: list[str] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for operation in operations:
            @given(case=operation.as_strategy(mode))
            @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def fuzz(case) -> None:
                headers = {str(k): str(v) for k, v in (case.headers or {}).items()}
                headers.setdefault("Authorization", f"Bearer {credentials.token}")
                body = None if isinstance(case.body, NotSet) else case.body
                content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
                if content is not None:
                    headers.setdefault("Content-Type", case.media_type or "application/json")
                response = client.request(case.method, case.formatted_path, params=case.query or None,
                                          headers=headers, content=content)
                statuses[response.status_code] += 1
                assert response.status_code < 500, f"{case.as_curl_command()}: {response.status_code} {response.text}"

            try:
                fuzz()
            except Unsatisfiable:           # nothing to break: an operation whose only input is the token
                unbreakable.append(operation.label)
    assert unbreakable == ([] if mode is GenerationMode.POSITIVE else ["GET /api/v1/probe/config"])
    assert sum(statuses.values()) >= 100 and all(status < 500 for status in statuses)
    assert any(400 <= status < 500 for status in statuses)


def test_the_store_is_still_sound_after_the_fuzzing(fuzzed):
    _, db, _ = fuzzed
    store = Store(db)
    try:
        # Whatever got stored is the enrolled probe's own school's, and no fuzzed enrolment got through.
        assert {row[0] for row in store._read("SELECT DISTINCT school_id FROM measurements")} <= {"KZ-001"}
        assert [probe.school_id for probe in store.probes()] == ["KZ-001"]
    finally:
        store.close()
