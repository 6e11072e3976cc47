"""MektepNet's shared vocabulary: schools and the registry, the calendar, norms and verdicts, measurements.

Everything other packages may use is listed in `__all__`; a test keeps it honest. Names load on first
use (PEP 562), so a probe that needs only the Measurement record does not import numpy.
"""


import importlib

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "BatchAck": "core.batch",
    "CATALOGUE": "core.metrics",
    "Category": "core.school",
    "CategoryNorms": "core.norms",
    "CoreError": "core.errors",
    "DayKind": "core.school_calendar",
    "Kind": "core.measurement",
    "Locality": "core.school",
    "Measurement": "core.measurement",
    "MetricSpec": "core.metrics",
    "NormResult": "core.verdict",
    "Period": "core.verdict",
    "Policy": "core.norms",
    "Problem": "core.errors",
    "REGIONS": "core.regions",
    "RecordAck": "core.batch",
    "RecordStatus": "core.batch",
    "Region": "core.regions",
    "Registry": "core.registry",
    "RegistrySummary": "core.summary",
    "SHIPPED_POLICIES": "core.norms",
    "Schedule": "core.schedule",
    "School": "core.school",
    "SchoolCalendar": "core.school_calendar",
    "Shift": "core.school",
    "Status": "core.verdict",
    "UploadBatch": "core.batch",
    "Verdict": "core.verdict",
    "almaty": "core.timezone",
    "evaluate": "core.verdict",
    "find_region": "core.regions",
    "generate_registry": "core.synthetic",
    "load_policy": "core.norms",
    "load_registry": "core.registry",
    "metric": "core.metrics",
    "nearest_rank": "core.statistics",
    "open_batch": "core.batch",
    "read_measurements": "core.measurement",
    "records_per_school_day": "core.schedule",
    "school_hours_seconds": "core.schedule",
    "summarise_registry": "core.summary",
    "to_local": "core.timezone",
    "write_measurements": "core.measurement",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Import an exported name from its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The exported names, loaded or not, and what is already loaded."""
    return sorted(set(globals()) | set(__all__))
