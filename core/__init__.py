"""MektepNet's shared vocabulary: schools and the registry, the calendar, norms and verdicts, measurements.

Everything other packages may use is listed in `__all__`; a test keeps it honest.
"""

from core.batch import BatchAck, RecordAck, RecordStatus, UploadBatch, open_batch
from core.errors import CoreError, Problem
from core.measurement import Kind, Measurement, read_measurements, write_measurements
from core.metrics import CATALOGUE, MetricSpec, metric
from core.norms import SHIPPED_POLICIES, CategoryNorms, Policy, load_policy
from core.regions import REGIONS, Region, find_region
from core.registry import Registry, load_registry
from core.schedule import Schedule, records_per_school_day, school_hours_seconds
from core.school import Category, Locality, School, Shift
from core.school_calendar import DayKind, SchoolCalendar
from core.summary import RegistrySummary, summarise_registry
from core.synthetic import generate_registry
from core.timezone import almaty, to_local
from core.verdict import NormResult, Period, Status, Verdict, evaluate

__version__ = "0.1.0"

__all__ = [
    "BatchAck", "CATALOGUE", "Category", "CategoryNorms", "CoreError", "DayKind", "Kind", "Locality",
    "Measurement", "MetricSpec", "NormResult", "Period", "Policy", "Problem", "REGIONS", "RecordAck",
    "RecordStatus", "Region", "Registry", "RegistrySummary", "SHIPPED_POLICIES", "Schedule", "School",
    "SchoolCalendar", "Shift", "Status", "UploadBatch", "Verdict", "almaty", "evaluate", "find_region",
    "generate_registry", "load_policy", "load_registry", "metric", "open_batch", "read_measurements",
    "records_per_school_day", "school_hours_seconds", "summarise_registry", "to_local",
    "write_measurements",
]
