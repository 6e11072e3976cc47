"""ndt7 subtest results as `core` Measurement records (kind download / upload, values in base units)."""

from __future__ import annotations

from core.measurement import Kind, Measurement
from probes.context import ProbeContext
from probes.ndt7.client import SubtestResult


def to_measurement(result: SubtestResult, context: ProbeContext, attributes: dict[str, str] | None = None,
                   extra_values: dict[str, float | None] | None = None) -> Measurement:
    """One subtest as a Measurement; the server's test UUID and the stop reason go in attributes."""
    values = {
        "throughput_bps": result.throughput_bps,
        "transferred_bytes": float(result.wire_bytes),
        "duration_seconds": result.elapsed_seconds,
        "min_rtt_seconds": result.min_rtt_seconds,
        "loaded_rtt_seconds": result.loaded_rtt_seconds,
        "retransmission_ratio": result.retransmission_ratio,
        **(extra_values or {}),
    }
    own = {"ndt7_uuid": result.uuid, "stop_reason": result.stop_reason,
           "stopped_early": str(result.stopped_early).lower(),
           "measured_bps": f"{result.measured_bps:.0f}", "app_bytes": str(result.app_bytes)}
    return context.record(Kind.DOWNLOAD if result.test == "download" else Kind.UPLOAD, result.server, "ndt7",
                          result.start, values, own | (attributes or {}), end=result.end, method_version="v7")
