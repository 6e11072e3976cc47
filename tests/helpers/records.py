"""Measurement records for tests, built the way probers build them (ProbeContext.record)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from core.measurement import Kind, Measurement
from probes.context import ProbeContext


def latency_records(school_id: str, probe_id: str, count: int, offset: float | None = 0.1) -> list[Measurement]:
    """`count` latency results a second apart, ending now, with the given clock offset."""
    context = ProbeContext(school_id, probe_id)
    now = datetime.now(timezone.utc)
    records = []
    for index in range(count):
        start = now - timedelta(seconds=count - index)
        record = context.record(Kind.LATENCY, "198.18.0.1", "icmp-raw", start,
                                {"rtt_median_seconds": 0.02 + index * 1e-4, "loss_ratio": 0.0, "packets_sent": 10},
                                end=start + timedelta(seconds=0.5))
        records.append(record.model_copy(update={"clock_offset_seconds": offset}))
    return records


def as_json(records: list[Measurement]) -> list[dict]:
    """Records as the JSON objects a batch carries."""
    return [json.loads(record.model_dump_json()) for record in records]
