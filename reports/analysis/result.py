"""Every indicator of the report over one period, computed from DataFrames in one call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.norms import Policy
from core.verdict import Period
from reports.analysis.capacity import capacity
from reports.analysis.change import Change, change, daily_trend
from reports.analysis.compliance import compliance, statuses
from reports.analysis.coverage import coverage
from reports.analysis.equity import NormEquity, norm_equity, what_if
from reports.analysis.gap import Gap, gap, medians
from reports.analysis.inequality import Decomposition, theil_decomposition, weighted_gini
from reports.analysis.readiness import Readiness
from reports.analysis.schools import counted, school_figures
from reports.analysis.worst import worst_districts, worst_schools


@dataclass(frozen=True)
class PeriodData:
    """What the store holds for one period: daily roll-ups and day verdicts per policy name."""

    period: Period
    daily: pd.DataFrame                     # day, school_id, kind, samples, median, ...: download rows are read
    verdicts: dict[str, pd.DataFrame]       # policy name -> day, school_id, status


@dataclass(frozen=True)
class Inputs:
    """The analysis' inputs: the registry's schools, the policies (the first is the main one), the periods."""

    schools: pd.DataFrame                   # schools.school_frame
    policies: tuple[Policy, ...]
    now: PeriodData
    before: PeriodData | None = None
    readiness: Readiness | None = None
    synthetic: bool = False                 # the registry says it is synthetic: the report says so


@dataclass(frozen=True)
class Analysis:
    """Every table and figure of the report (speeds in bit/s, shares 0-1)."""

    inputs: Inputs
    figures: pd.DataFrame                   # one row per school: the values every indicator uses
    statuses: pd.DataFrame                  # school_id x policy name -> meets / below / no data
    coverage: pd.DataFrame
    coverage_by_region: pd.DataFrame
    coverage_by_category: pd.DataFrame
    compliance: pd.DataFrame
    compliance_by_region: pd.DataFrame
    compliance_by_category: pd.DataFrame
    medians_by_category: pd.DataFrame
    gap: Gap
    gini: float
    theil_by_region: Decomposition
    theil_by_locality: Decomposition
    equity: NormEquity
    what_if: pd.DataFrame
    capacity_by_region: pd.DataFrame
    capacity_by_locality: pd.DataFrame
    worst_schools: pd.DataFrame
    worst_districts: pd.DataFrame
    trend: pd.DataFrame
    change: Change | None = None

    @property
    def policy(self) -> Policy:
        """The main policy (the first given)."""
        return self.inputs.policies[0]


def analyse(inputs: Inputs) -> Analysis:
    """Compute every indicator of the report from `inputs`."""
    main = inputs.policies[0].name
    figures = school_figures(inputs.schools, inputs.now.daily, inputs.now.verdicts.get(main, _no_verdicts()))
    by_policy = statuses(figures, {p.name: inputs.now.verdicts.get(p.name, _no_verdicts()) for p in inputs.policies})
    values = counted(figures)
    before = None
    if inputs.before is not None:
        previous = school_figures(inputs.schools, inputs.before.daily,
                                  inputs.before.verdicts.get(main, _no_verdicts()))
        before = change(figures, previous)
    return Analysis(
        inputs=inputs, figures=figures, statuses=by_policy,
        coverage=coverage(figures), coverage_by_region=coverage(figures, "region"),
        coverage_by_category=coverage(figures, "category"),
        compliance=compliance(figures, by_policy), compliance_by_region=compliance(figures, by_policy, "region"),
        compliance_by_category=compliance(figures, by_policy, "category"),
        medians_by_category=medians(figures, "category"), gap=gap(figures),
        gini=weighted_gini(values["per_student_bps"], values["students"]),
        theil_by_region=theil_decomposition(values, "per_student_bps", "students", "region"),
        theil_by_locality=theil_decomposition(values, "per_student_bps", "students", "locality"),
        equity=norm_equity(figures, inputs.policies[0]), what_if=what_if(figures),
        capacity_by_region=capacity(figures, "region"), capacity_by_locality=capacity(figures, "locality"),
        worst_schools=worst_schools(figures), worst_districts=worst_districts(figures),
        trend=daily_trend(inputs.now.daily, inputs.schools), change=before)


def _no_verdicts() -> pd.DataFrame:
    return pd.DataFrame({"day": pd.Series(dtype="datetime64[ns]"), "school_id": pd.Series(dtype="str"),
                         "status": pd.Series(dtype="str")})
