"""Property-based tests of the ingest model: any batch either opens record by record or is refused whole,
never with an exception other than CoreError, and valid records survive the wire unchanged."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from core.batch import RecordAck, RecordStatus, open_batch, open_batch_json
from core.errors import CoreError
from core.measurement import Kind, Measurement

JSON = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                                       max_size=4), max_leaves=12)

latency = st.builds(
    lambda rtt, loss, offset, seconds: Measurement(
        measurement_id=uuid.uuid4(), school_id="KZ-001", probe_id="p-1", kind=Kind.LATENCY,
        start=datetime(2026, 11, 16, 5, tzinfo=timezone.utc), end=datetime(2026, 11, 16, 5, tzinfo=timezone.utc)
        + timedelta(seconds=seconds), clock_offset_seconds=offset,
        values={"rtt_median_seconds": rtt, "loss_ratio": loss}, target="198.18.0.1", method="icmp-raw",
        method_version="1", probe_version="test"),
    st.floats(min_value=0, max_value=10, allow_nan=False), st.floats(min_value=0, max_value=1, allow_nan=False),
    st.none() | st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.floats(min_value=0, max_value=60))


def envelope(records: list) -> dict:
    return {"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": "p-1", "school_id": "KZ-001",
            "sent_at": "2026-11-16T05:00:00+00:00", "measurements": records}


@settings(max_examples=200, deadline=None)
@given(st.lists(JSON, max_size=5))
def test_arbitrary_records_are_each_accepted_or_rejected_with_a_reason(records):
    _, opened = open_batch(envelope(records))
    assert len(opened) == len(records)
    for item in opened:
        assert isinstance(item, Measurement) or (item.status is RecordStatus.REJECTED and item.reason)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_an_arbitrary_body_is_refused_with_core_error_only(document):
    try:
        open_batch(document)
    except CoreError as exc:
        assert exc.problems


@settings(max_examples=100, deadline=None)
@given(st.lists(latency, min_size=1, max_size=20))
def test_valid_records_survive_the_wire_unchanged_and_both_paths_agree(records):
    body = json.dumps(envelope([json.loads(r.model_dump_json()) for r in records])).encode()
    _, fast = open_batch_json(body)
    _, slow = open_batch(json.loads(body))
    assert fast == slow == records
    assert not any(isinstance(item, RecordAck) for item in fast)
