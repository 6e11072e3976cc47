"""School-day traffic shapes: when students arrive and leave, laid on the run's duration.

A shape covers a stretch of the Asia/Almaty school day (the first bell: 07:30-09:00) and is laid
onto the run, so a 10-minute laptop run and a national run see the same curve; think times stay
real. Each group of students arrives by a piecewise-linear density over the run (fractions 0-1) and
stays until its departure. Group sizes come from the school registry (students on each shift) scaled
by a factor, or from an explicit student count split the same way.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator

from core.errors import CoreError
from core.registry import Registry

# Points (fraction of the run, relative arrival density); linear between them.
Curve = tuple[tuple[float, float], ...]
GRID = 2000


@dataclass(frozen=True)
class Group:
    """Students who arrive along `arrivals` and leave between the two fractions of the run."""

    name: str
    shift: int              # 1 = first shift, 2 = second shift (sizes from the registry)
    arrivals: Curve
    leave: tuple[float, float] = (1.0, 1.0)


@dataclass(frozen=True)
class Shape:
    """A named stretch of the school day."""

    name: str
    window: str             # the clock times the run stands for (Asia/Almaty)
    description: str
    groups: tuple[Group, ...]
    quarter_end: bool = False

    def arrival_quantile(self, group: Group) -> "Quantile":
        """The inverse arrival CDF of a group (cached per shape and group)."""
        return _quantiles(self.name, group.name, group.arrivals)


def _peak(centre: float, half_width: float, weight: float, floor: float = 0.0) -> Curve:
    return ((0.0, floor), (max(0.0, centre - half_width), floor), (centre, weight),
            (min(1.0, centre + half_width), floor), (1.0, floor))


SHAPES: dict[str, Shape] = {shape.name: shape for shape in (
    Shape("first-bell", "07:30-09:00", "the whole country's first shift logs in around 08:00 (one time zone)",
          (Group("first shift", 1, ((0.0, 0.1), (0.27, 0.3), (0.333, 20.0), (0.37, 0.6), (0.667, 0.2), (1.0, 0.05))),)),
    Shape("second-shift", "12:30-14:30", "the first shift leaves around 13:30 while the second arrives for 14:00",
          (Group("first shift", 1, ((0.0, 1.0), (0.05, 1.0), (0.0501, 0.0), (1.0, 0.0)), leave=(0.4, 0.6)),
           Group("second shift", 2, _peak(0.75, 0.08, 10.0, floor=0.05)))),
    Shape("quarter-end", "17:00-23:00", "teachers enter quarter grades all evening, peaking near 21:00",
          (Group("everyone", 0, ((0.0, 0.2), (0.667, 3.0), (0.85, 1.0), (1.0, 0.3)), leave=(0.5, 1.0)),),
          quarter_end=True),
    Shape("new-platform", "08:00-08:30", "the first morning on a new platform: everyone at once",
          (Group("everyone", 0, ((0.0, 1.0), (0.03, 1.0), (0.0301, 0.0), (1.0, 0.0))),)),
    Shape("steady", "any", "a steady state: everyone arrives during the ramp and stays",
          (Group("everyone", 0, ((0.0, 1.0), (1.0, 1.0))),)),
)}



def known_shape(name: str) -> str:
    """The name of a shipped shape (ValueError naming the known ones otherwise)."""
    if name not in SHAPES:
        raise ValueError(f"unknown shape; known: {', '.join(SHAPES)}")
    return name


ShapeName = Annotated[str, AfterValidator(known_shape)]

@dataclass(frozen=True)
class Quantile:
    """An inverse CDF on a fixed grid: fraction of the group arrived -> fraction of the run."""

    cumulative: tuple[float, ...]

    def __call__(self, u: float) -> float:
        index = bisect.bisect_left(self.cumulative, u)
        if index <= 0:
            return 0.0
        if index >= GRID:
            return 1.0
        low, high = self.cumulative[index - 1], self.cumulative[index]
        within = (u - low) / (high - low) if high > low else 0.0
        return (index - 1 + within) / (GRID - 1)


_CACHE: dict[tuple[str, str], Quantile] = {}


def _density(curve: Curve, x: float) -> float:
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return 0.0


def _quantiles(shape: str, group: str, curve: Curve) -> Quantile:
    key = (shape, group)
    if key not in _CACHE:
        cumulative, total = [0.0], 0.0
        for index in range(1, GRID):
            x0, x1 = (index - 1) / (GRID - 1), index / (GRID - 1)
            total += (_density(curve, x0) + _density(curve, x1)) / 2
            cumulative.append(total)
        _CACHE[key] = Quantile(tuple(value / total for value in cumulative))
    return _CACHE[key]


def shape(name: str) -> Shape:
    """The named shape; CoreError lists the known ones."""
    if name not in SHAPES:
        raise CoreError.one("command line", "--shape", name, f"unknown shape; known: {', '.join(SHAPES)}")
    return SHAPES[name]


@dataclass(frozen=True)
class Split:
    """Students per shift and per region, from the registry (already scaled)."""

    by_shift: dict[int, int]
    by_region: dict[str, int] = field(default_factory=dict)


def registry_split(registry: Registry, scale: float) -> Split:
    """Students on the first and second shift, and per region, times `scale` (rounded)."""
    by_shift = {1: 0.0, 2: 0.0}
    by_region: dict[str, float] = {}
    for school in registry:
        first = school.busiest_shift_students if len(school.shifts) > 1 else school.students
        by_shift[1] += first
        by_shift[2] += school.students - first
        by_region[school.region] = by_region.get(school.region, 0.0) + school.students
    return Split({k: round(v * scale) for k, v in by_shift.items()},
                 {k: round(v * scale) for k, v in sorted(by_region.items())})


def group_sizes(chosen: Shape, split: Split, students: int | None = None) -> dict[str, int]:
    """Students of each group: its shift's students (shift 0: everyone), or `students` shared in those proportions."""
    everyone = sum(split.by_shift.values())
    sizes = {group.name: everyone if group.shift == 0 else split.by_shift.get(group.shift, 0) for group in chosen.groups}
    if students is None:
        return sizes
    total = sum(sizes.values())
    if total == 0:
        return {name: students // len(sizes) for name in sizes}
    shared = {name: int(students * size / total) for name, size in sizes.items()}
    first = next(iter(shared))
    shared[first] += students - sum(shared.values())
    return shared
