"""The one nearest-rank percentile: exact on decimal shares, whatever floating point makes of share * n."""

from __future__ import annotations

from fractions import Fraction

import pytest

from core.statistics import nearest_rank


def _by_definition(ordered: list[float], percent: int) -> float:
    """The smallest value with at least `percent` % of the values at or below it, in exact arithmetic."""
    return next(v for i, v in enumerate(ordered, start=1) if Fraction(i, len(ordered)) >= Fraction(percent, 100))


@pytest.mark.parametrize("percent", [1, 7, 10, 50, 55, 90, 95, 99, 100])
def test_nearest_rank_is_the_definition_for_every_count_up_to_three_hundred(percent):
    for count in range(1, 301):
        ordered = [float(i) for i in range(count)]
        assert nearest_rank(ordered, percent / 100) == _by_definition(ordered, percent), count


def test_the_ends_and_bad_input():
    assert nearest_rank([1.0, 2.0, 3.0], 0.0) == 1.0 and nearest_rank([1.0, 2.0, 3.0], 1.0) == 3.0
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 0.5)
    with pytest.raises(ValueError, match="share=1.5"):
        nearest_rank([1.0], 1.5)
