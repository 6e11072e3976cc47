"""Inequality of per-student bandwidth: a weighted Gini coefficient and a weighted Theil-T index, decomposed.

With values x_i >= 0 and weights w_i > 0 (students), W = sum w_i and mean m = sum w_i x_i / W:
- Gini G = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 m), computed in O(n log n) over the sorted values;
- Theil-T T = (1/W) sum_i w_i (x_i/m) ln(x_i/m), with 0 ln 0 = 0;
- for groups g with weight W_g and mean m_g, the share s_g = W_g m_g / (W m) gives
  T = sum_g s_g T_g (within) + sum_g s_g ln(m_g/m) (between); a group with m_g = 0 has s_g = 0.
Both are undefined (NaN) when the weighted mean is 0 or there are no weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Decomposition:
    """Theil-T split by a grouping: total = within + between (both >= 0)."""

    by: str
    total: float
    within: float
    between: float
    groups: pd.DataFrame          # index: group; columns: weight, mean, share, theil, contribution

    @property
    def between_share(self) -> float:
        """The between-group part as a share of the total (0-1; NaN when the total is 0)."""
        return self.between / self.total if self.total > 0 else math.nan


def _clean(values: pd.Series, weights: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    keep = ~np.isnan(x) & (w > 0)
    return x[keep], w[keep]


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """The weighted mean (NaN for no weight)."""
    x, w = _clean(values, weights)
    return float(np.dot(w, x) / w.sum()) if w.sum() > 0 else math.nan


def weighted_gini(values: pd.Series, weights: pd.Series) -> float:
    """The weighted Gini coefficient (0 equal, towards 1 all to one) of non-negative values; NaN values dropped."""
    x, w = _clean(values, weights)
    total_weight, total = w.sum(), float(np.dot(w, x))
    if total_weight <= 0 or total <= 0:
        return math.nan
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cumulative = np.cumsum(w)
    return float(np.dot(w * x, 2 * cumulative - w - total_weight) / (total_weight * total))


def theil_t(values: pd.Series, weights: pd.Series) -> float:
    """The weighted Theil-T index (0 equal, ln W at most) of non-negative values; NaN values dropped."""
    x, w = _clean(values, weights)
    if w.sum() <= 0:
        return math.nan
    mean = float(np.dot(w, x) / w.sum())
    if mean <= 0:
        return math.nan
    ratio = x / mean
    terms = np.where(ratio > 0, ratio * np.log(np.where(ratio > 0, ratio, 1.0)), 0.0)
    return float(np.dot(w, terms) / w.sum())


def theil_decomposition(frame: pd.DataFrame, value: str, weight: str, by: str) -> Decomposition:
    """Theil-T of `frame[value]` weighted by `frame[weight]`, split into within- and between-`by` parts."""
    data = frame[frame[value].notna() & (frame[weight] > 0)]
    total_weight = float(data[weight].sum())
    mean = float((data[value] * data[weight]).sum() / total_weight) if total_weight > 0 else math.nan
    rows = {}
    for group, part in data.groupby(by, sort=True):
        group_weight = float(part[weight].sum())
        group_mean = float((part[value] * part[weight]).sum() / group_weight)
        share = group_weight * group_mean / (total_weight * mean) if mean > 0 else math.nan
        inner = theil_t(part[value], part[weight]) if group_mean > 0 else 0.0
        between = share * math.log(group_mean / mean) if group_mean > 0 and mean > 0 else 0.0
        rows[group] = {"weight": group_weight, "mean": group_mean, "share": share, "theil": inner,
                       "contribution": share * inner + between}
    groups = pd.DataFrame.from_dict(rows, orient="index", columns=["weight", "mean", "share", "theil", "contribution"])
    if not mean > 0:
        return Decomposition(by, math.nan, math.nan, math.nan, groups)
    within = float((groups["share"] * groups["theil"]).sum())
    between = float(sum(s * math.log(m / mean) for s, m in zip(groups["share"], groups["mean"]) if m > 0))
    return Decomposition(by, theil_t(data[value], data[weight]), within, between, groups)
