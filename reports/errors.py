"""The one exception type of `reports`: a report that cannot be written from this input."""

from __future__ import annotations

from core.errors import CoreError


class ReportError(CoreError):
    """Bad input for a report (empty period, no measurements, unknown policy, registry not matching the store)."""
