"""What every prober is handed: who measures, the clock, the context attributes, and a record builder."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from core import __version__
from core.measurement import Kind, Measurement
from probes.clock import Clock


@dataclass(frozen=True)
class ProbeContext:
    """The probe's identity and clock; `attributes` (link type, config hash ...) go into every record."""

    school_id: str
    probe_id: str
    clock: Clock = field(default_factory=Clock)
    attributes: dict[str, str] = field(default_factory=dict)

    def record(self, kind: Kind, target: str, method: str, start: datetime, values: dict[str, float],
               attributes: dict[str, str] | None = None, error: str | None = None, end: datetime | None = None,
               method_version: str = "1") -> Measurement:
        """A Measurement of this probe, stamped with the clock offset known now and the context attributes."""
        offset = self.clock.offset_seconds()
        merged = {**self.attributes, "clock_source": self.clock.source(), **(attributes or {})}
        return Measurement(
            measurement_id=uuid.uuid4(), school_id=self.school_id, probe_id=self.probe_id, kind=kind,
            start=start, end=end or datetime.now(timezone.utc), clock_offset_seconds=offset,
            values={name: value for name, value in values.items() if value is not None},
            attributes=merged, target=target[:256], method=method, method_version=method_version,
            probe_version=__version__, error=error[:1024] if error else None,
        )
