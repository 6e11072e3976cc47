"""ndt7 subtest results as `core` Measurement records (kind download / upload, values in base units)."""

from __future__ import annotations

import uuid

from core import __version__
from core.measurement import Kind, Measurement
from probes.ndt7.client import SubtestResult


def to_measurement(result: SubtestResult, school_id: str, probe_id: str,
                   clock_offset_seconds: float | None) -> Measurement:
    """One subtest as a Measurement; the server's test UUID and the stop reason go in attributes."""
    values = {
        "throughput_bps": result.throughput_bps,
        "transferred_bytes": float(result.wire_bytes),
        "duration_seconds": result.elapsed_seconds,
    }
    optional = {"min_rtt_seconds": result.min_rtt_seconds, "loaded_rtt_seconds": result.loaded_rtt_seconds,
                "retransmission_ratio": result.retransmission_ratio}
    values.update({name: value for name, value in optional.items() if value is not None})
    return Measurement(
        measurement_id=uuid.uuid4(), school_id=school_id, probe_id=probe_id,
        kind=Kind.DOWNLOAD if result.test == "download" else Kind.UPLOAD,
        start=result.start, end=result.end, clock_offset_seconds=clock_offset_seconds, values=values,
        attributes={"ndt7_uuid": result.uuid, "stop_reason": result.stop_reason,
                    "stopped_early": str(result.stopped_early).lower(),
                    "measured_bps": f"{result.measured_bps:.0f}", "app_bytes": str(result.app_bytes)},
        target=result.server, method="ndt7", method_version="v7", probe_version=__version__,
    )
