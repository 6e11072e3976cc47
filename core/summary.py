"""Registry totals by region and locality, with the records per school day the fleet will send."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from core.measurement import Kind
from core.regions import BY_CODE, REGIONS
from core.registry import Registry
from core.schedule import Schedule, records_per_school_day, school_hours_seconds


@dataclass
class Totals:
    """Sums over a group of schools; contracted bandwidth in bit/s."""

    schools: int = 0
    ungraded: int = 0
    students: int = 0
    busiest_shift_students: int = 0
    teachers: int = 0
    computers: int = 0
    contracted_bps: float = 0.0
    records_per_day: float = 0.0
    two_or_more_shifts: int = 0

    def add(self, other: "Totals") -> None:
        """Add another group's sums into this one."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class RegistrySummary:
    """Totals per (region code, locality), per locality, and for the whole country."""

    by_region: dict[tuple[str, str], Totals] = field(default_factory=dict)
    by_locality: dict[str, Totals] = field(default_factory=dict)
    country: Totals = field(default_factory=Totals)
    records_by_kind: dict[Kind, float] = field(default_factory=dict)


def summarise_registry(registry: Registry, schedule: Schedule = Schedule()) -> RegistrySummary:
    """Sum the registry by region and locality; records per day assume one probe per school."""
    groups: dict[tuple[str, str], Totals] = defaultdict(Totals)
    records_by_kind: dict[Kind, float] = defaultdict(float)
    for school in registry:
        records = records_per_school_day(school_hours_seconds(school), schedule)
        for kind, count in records.items():
            records_by_kind[kind] += count
        groups[(school.region, school.locality.value)].add(Totals(
            schools=1,
            ungraded=int(school.ungraded),
            students=school.students,
            busiest_shift_students=school.busiest_shift_students,
            teachers=school.teachers,
            computers=school.computers,
            contracted_bps=school.contracted_bps,
            records_per_day=sum(records.values()),
            two_or_more_shifts=int(len(school.shifts) >= 2),
        ))
    order = {region.code: index for index, region in enumerate(REGIONS)}
    summary = RegistrySummary(records_by_kind=dict(records_by_kind))
    for key in sorted(groups, key=lambda key: (order[key[0]], key[1])):
        summary.by_region[key] = groups[key]
        summary.by_locality.setdefault(key[1], Totals()).add(groups[key])
        summary.country.add(groups[key])
    return summary


def region_name(code: str, language: str = "en") -> str:
    """A region's name in 'en', 'ru' or 'kk'."""
    region = BY_CODE[code]
    return {"en": region.name_en, "ru": region.name_ru, "kk": region.name_kk}[language]
