"""The report's tables, defined once: the HTML shows them and the workbook holds them with the same numbers.

A column's kind says how its value is shown: `mbps` is bit/s shown in Mbit/s with one decimal,
`kbps` in kbit/s without, `share` a 0-1 share as a percentage with one decimal, `int` a count,
`ratio` two decimals, `index` three, `region` a region code shown by name, `label` a code shown
by its translated label, `text` as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from reports.analysis import Analysis
from reports.i18n import Words


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it yet."""
    return message


LABELS = {"urban": N_("urban"), "rural": N_("rural"), "ungraded": N_("ungraded"), "meets": N_("meets"),
          "below": N_("below"), "no data": N_("no data"), "measured": N_("measured"), "silent": N_("silent"),
          "unconnected": N_("unconnected"), "region": N_("between regions"), "locality": N_("between urban and rural"),
          "ministry": N_("Ministry norms"), "giga-2030": N_("Giga / ITU 2030 target"),
          "equal-norms": N_("Equal norms")}

DECIMALS = {"mbps": 1, "kbps": 0, "share": 1, "int": 0, "ratio": 2, "index": 3}
SCALE = {"mbps": 1e-6, "kbps": 1e-3, "share": 100.0, "int": 1.0, "ratio": 1.0, "index": 1.0}


@dataclass(frozen=True)
class Column:
    """One column: the frame's column, its header (a message) and how its values are shown."""

    key: str
    header: str
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """A titled table of the report (title and headers are messages, translated when shown)."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: pd.DataFrame

    def shown(self, column: Column, value: object, words: Words) -> str:
        """A cell as the reader sees it."""
        if column.kind == "region":
            return words.region(str(value))
        if column.kind == "label":
            return words.gettext(LABELS.get(str(value), str(value)))
        if column.kind == "text":
            return str(value)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "—"
        number = float(value) * SCALE[column.kind]
        return words.number(number, DECIMALS[column.kind])


def workbook_value(column: Column, value: object) -> object:
    """A cell as the workbook stores it: the shown number, unrounded, in the shown unit (None when undefined)."""
    if column.kind in ("text", "region", "label"):
        return str(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value) * SCALE[column.kind]


def _c(key: str, header: str, kind: str = "text") -> Column:
    return Column(key, header, kind)


def tables(analysis: Analysis) -> list[Table]:
    """Every table of the report, in the order it shows them."""
    main = analysis.policy.name
    region_compliance = analysis.compliance_by_region[analysis.compliance_by_region["policy"] == main]
    decomposition = pd.DataFrame([
        {"by": part.by, "total": part.total, "within": part.within, "between": part.between,
         "between_share": part.between_share} for part in (analysis.theil_by_region, analysis.theil_by_locality)])
    share_cols = (_c("school_share", N_("schools meeting, %"), "share"),
                  _c("student_share", N_("students in schools meeting, %"), "share"))
    counts = (_c("schools_meeting", N_("meet"), "int"), _c("schools_below", N_("below the norm"), "int"),
              _c("schools_no_data", N_("no data"), "int"))
    return [
        Table("coverage", N_("Coverage by region"), (
            _c("region", N_("Region"), "region"), _c("schools", N_("Schools"), "int"),
            _c("schools_measured", N_("measured"), "int"), _c("schools_silent", N_("silent"), "int"),
            _c("schools_unconnected", N_("unconnected"), "int"), _c("students", N_("Students"), "int"),
            _c("measured_share", N_("measured, %"), "share")), analysis.coverage_by_region.reset_index()),
        Table("compliance", N_("Compliance with each norms policy"), (
            _c("policy", N_("Policy"), "label"), *counts, *share_cols), analysis.compliance),
        Table("compliance_region", N_("Compliance by region (main policy)"), (
            _c("region", N_("Region"), "region"), *counts, *share_cols), region_compliance),
        Table("compliance_category", N_("Compliance by category"), (
            _c("policy", N_("Policy"), "label"), _c("category", N_("Category"), "label"), *counts, *share_cols),
            analysis.compliance_by_category),
        Table("medians", N_("Measured bandwidth by category"), (
            _c("category", N_("Category"), "label"), _c("schools", N_("Schools"), "int"),
            _c("download_median_bps", N_("median download, Mbit/s"), "mbps"),
            _c("per_student_median_bps", N_("median per student, kbit/s"), "kbps")),
            analysis.medians_by_category.reset_index()),
        Table("theil", N_("Theil-T index of per-student bandwidth and its parts"), (
            _c("by", N_("Grouping"), "label"), _c("total", N_("total"), "index"), _c("within", N_("within groups"), "index"),
            _c("between", N_("between groups"), "index"), _c("between_share", N_("between groups, %"), "share")),
            decomposition),
        Table("theil_regions", N_("Per-student bandwidth by region"), (
            _c("index", N_("Region"), "region"), _c("weight", N_("Students"), "int"),
            _c("mean", N_("mean per student, kbit/s"), "kbps"), _c("share", N_("share of all bandwidth, %"), "share"),
            _c("theil", N_("Theil-T within the region"), "index"), _c("contribution", N_("contribution"), "index")),
            analysis.theil_by_region.groups.reset_index()),
        Table("what_if", N_("What-if norms for rural schools"), (
            _c("download_bps", N_("norm per school, Mbit/s"), "mbps"),
            _c("per_student_bps", N_("norm per student, kbit/s"), "kbps"),
            _c("schools_below", N_("rural schools below"), "int"), _c("students_below", N_("their students"), "int"),
            _c("contract_to_add_bps", N_("contract to add, Mbit/s"), "mbps"),
            _c("below_with_enough_contract", N_("below with enough contract"), "int")), analysis.what_if),
        Table("capacity", N_("Video lessons and computers by region"), (
            _c("region", N_("Region"), "region"), _c("video_lessons_median", N_("video lessons at once, median"), "ratio"),
            _c("schools_without_video", N_("schools without one video lesson"), "int"),
            _c("computers_per_student", N_("computers per student"), "ratio"),
            _c("computers_per_shift_student", N_("computers per student of the busiest shift"), "ratio")),
            analysis.capacity_by_region.reset_index()),
        Table("worst_districts", N_("Districts with the least bandwidth per student"), (
            _c("region", N_("Region"), "region"), _c("district", N_("District")), _c("schools", N_("Schools"), "int"),
            _c("per_student_bps", N_("per student, kbit/s"), "kbps"),
            _c("contracted_bps", N_("contracted, Mbit/s"), "mbps"), _c("measured_download_bps", N_("measured, Mbit/s"), "mbps"),
            _c("delivered_ratio", N_("measured / contracted"), "ratio")), analysis.worst_districts),
        Table("worst_schools", N_("Schools with the least bandwidth per student"), (
            _c("school_id", N_("School")), _c("region", N_("Region"), "region"), _c("district", N_("District")),
            _c("busiest_shift_students", N_("students of the busiest shift"), "int"),
            _c("contracted_bps", N_("contracted, Mbit/s"), "mbps"), _c("measured_download_bps", N_("measured, Mbit/s"), "mbps"),
            _c("per_student_bps", N_("per student, kbit/s"), "kbps")), analysis.worst_schools),
    ]


def school_table(analysis: Analysis) -> Table:
    """The per-school values every indicator uses (the workbook's last sheet)."""
    return Table("schools", N_("Per-school values"), (
        _c("school_id", N_("School")), _c("region", N_("Region"), "region"), _c("district", N_("District")),
        _c("category", N_("Category"), "label"), _c("students", N_("Students"), "int"),
        _c("busiest_shift_students", N_("students of the busiest shift"), "int"), _c("computers", N_("Computers"), "int"),
        _c("state", N_("State"), "label"), _c("days_measured", N_("days measured"), "int"),
        _c("contracted_bps", N_("contracted, Mbit/s"), "mbps"), _c("measured_download_bps", N_("measured, Mbit/s"), "mbps"),
        _c("per_student_bps", N_("per student, kbit/s"), "kbps"), _c("status", N_("Status"), "label"),
        _c("days_meeting", N_("days meeting"), "int"), _c("days_judged", N_("days judged"), "int")), analysis.figures)
