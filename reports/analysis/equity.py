"""Norm equity and what-if norms for rural schools, on the measured download (silent schools left out).

- **Norm equity**: rural schools (locality rural, ungraded included) whose measured download meets their
  own category's download norm under a policy but is below that policy's urban download norm.
- **What-if**: for a candidate rural norm — a download in bit/s, or bit/s per student of the busiest
  shift — the rural schools below it, their students, and the contract to add: the sum over those
  schools of max(0, required - contracted), where required is the norm (or per-student norm times the
  busiest shift's students). Schools below whose contract already covers the norm are counted apart:
  their operator does not deliver what is paid for.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.norms import Policy
from reports.analysis.schools import counted


@dataclass(frozen=True)
class CandidateNorm:
    """A candidate rural norm: `download_bps` per school, or `per_student_bps` per student of the busiest shift."""

    download_bps: float = 0.0
    per_student_bps: float = 0.0

    def required_bps(self, busiest_shift_students: pd.Series) -> pd.Series:
        """The download each school needs under this norm (bit/s)."""
        return (self.per_student_bps * busiest_shift_students.clip(lower=1)).astype("float64") + self.download_bps


CANDIDATES = (CandidateNorm(download_bps=4e6), CandidateNorm(download_bps=10e6), CandidateNorm(download_bps=20e6),
              CandidateNorm(per_student_bps=50e3))


@dataclass(frozen=True)
class NormEquity:
    """Rural schools that pass their own norm and would fail the urban one (download only), with students."""

    rural_norm_bps: float
    urban_norm_bps: float
    schools: int
    students: int
    rural_counted: int             # rural schools with a measured (or zero) download


def _rural(figures: pd.DataFrame) -> pd.DataFrame:
    data = counted(figures)
    return data[data["locality"] == "rural"]


def norm_equity(figures: pd.DataFrame, policy: Policy) -> NormEquity:
    """Rural schools meeting their category's download norm of `policy` but below its urban one."""
    rural = _rural(figures)
    urban_norm = policy.urban.download_min_bps or 0.0
    own = rural["category"].map({"rural": policy.rural.download_min_bps or 0.0,
                                 "ungraded": policy.ungraded.download_min_bps or 0.0})
    caught = rural[(rural["measured_download_bps"] >= own) & (rural["measured_download_bps"] < urban_norm)]
    return NormEquity(policy.rural.download_min_bps or 0.0, urban_norm, len(caught), int(caught["students"].sum()),
                      len(rural))


def what_if(figures: pd.DataFrame, candidates: tuple[CandidateNorm, ...] = CANDIDATES) -> pd.DataFrame:
    """Per candidate norm: rural schools and students below it, contract to add (bit/s), and delivery failures.

    Columns: download_bps, per_student_bps, schools_below, students_below, contract_to_add_bps,
    below_with_enough_contract, rural_counted.
    """
    rural = _rural(figures)
    rows = []
    for candidate in candidates:
        required = candidate.required_bps(rural["busiest_shift_students"])
        below = rural["measured_download_bps"] < required
        shortfall = (required - rural["contracted_bps"]).clip(lower=0)
        rows.append({"download_bps": candidate.download_bps, "per_student_bps": candidate.per_student_bps,
                     "schools_below": int(below.sum()), "students_below": int(rural.loc[below, "students"].sum()),
                     "contract_to_add_bps": float(shortfall[below].sum()),
                     "below_with_enough_contract": int((below & (shortfall == 0)).sum()),
                     "rural_counted": len(rural)})
    return pd.DataFrame(rows)
