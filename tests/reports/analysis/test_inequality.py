"""Weighted Gini and Theil-T against sums worked by hand, and the decomposition's parts against its total."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reports.analysis.inequality import theil_decomposition, theil_t, weighted_gini, weighted_mean

# Values 0, 1, 1, 4 with weights 1, 1, 2, 1: the same as the five people 0, 1, 1, 1, 4.
VALUES = pd.Series([0.0, 1.0, 1.0, 4.0])
WEIGHTS = pd.Series([1.0, 1.0, 2.0, 1.0])


def test_weighted_gini_is_the_mean_absolute_difference_over_twice_the_mean() -> None:
    # Unordered pairs of the five people: 0-1 three times (3), 0-4 (4), 1-4 three times (9): 16, ordered 32.
    # G = 32 / (2 * 5^2 * 1.4) = 32 / 70.
    assert weighted_gini(VALUES, WEIGHTS) == pytest.approx(32 / 70)


def test_gini_of_equal_values_is_zero_and_of_one_holder_is_one_minus_its_weight_share() -> None:
    assert weighted_gini(pd.Series([5.0, 5.0, 5.0]), pd.Series([1.0, 2.0, 3.0])) == pytest.approx(0.0)
    # Four people hold nothing, one holds all: G = 1 - 1/5.
    assert weighted_gini(pd.Series([0.0, 10.0]), pd.Series([4.0, 1.0])) == pytest.approx(0.8)


def test_theil_t_by_hand() -> None:
    # Mean 1.4; T = (1/5) [0 + 3 * (1/1.4) ln(1/1.4) + (4/1.4) ln(4/1.4)].
    expected = (3 * (1 / 1.4) * math.log(1 / 1.4) + (4 / 1.4) * math.log(4 / 1.4)) / 5
    assert theil_t(VALUES, WEIGHTS) == pytest.approx(expected)


def test_theil_decomposition_parts_by_hand_and_sum_to_the_total() -> None:
    frame = pd.DataFrame({"value": VALUES, "weight": WEIGHTS, "group": ["a", "a", "b", "b"]})
    parts = theil_decomposition(frame, "value", "weight", "group")
    # Group a: people 0, 1 (mean 0.5, share 1/7); group b: 1, 1, 4 (mean 2, share 6/7).
    share_a, share_b = 2 * 0.5 / 7, 3 * 2.0 / 7
    theil_a = (1 / 2) * (2 * math.log(2))
    theil_b = (2 * 0.5 * math.log(0.5) + 2 * math.log(2)) / 3
    assert parts.within == pytest.approx(share_a * theil_a + share_b * theil_b)
    assert parts.between == pytest.approx(share_a * math.log(0.5 / 1.4) + share_b * math.log(2 / 1.4))
    assert parts.within + parts.between == pytest.approx(parts.total)
    assert parts.total == pytest.approx(theil_t(VALUES, WEIGHTS))
    assert parts.groups["contribution"].sum() == pytest.approx(parts.total)


def test_a_group_with_nothing_adds_nothing_and_all_zero_is_undefined() -> None:
    frame = pd.DataFrame({"value": [0.0, 0.0, 2.0, 4.0], "weight": [1.0, 1.0, 1.0, 1.0], "group": list("aabb")})
    parts = theil_decomposition(frame, "value", "weight", "group")
    assert parts.groups.loc["a", "share"] == 0
    assert parts.within + parts.between == pytest.approx(parts.total)
    assert math.isnan(weighted_gini(pd.Series([0.0, 0.0]), pd.Series([1.0, 1.0])))
    assert math.isnan(theil_t(pd.Series([0.0]), pd.Series([3.0])))
    assert math.isnan(weighted_mean(pd.Series([1.0]), pd.Series([0.0])))


def test_missing_values_are_dropped_not_zero() -> None:
    with_missing = pd.Series([0.0, 1.0, 1.0, 4.0, float("nan")])
    assert weighted_gini(with_missing, pd.Series([1.0, 1.0, 2.0, 1.0, 50.0])) == pytest.approx(32 / 70)
