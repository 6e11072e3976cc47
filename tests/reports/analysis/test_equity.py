"""Norm equity and what-if norms, counted by hand on the fixture's three counted rural schools."""

from __future__ import annotations

import pytest

from core.norms import load_policy
from reports.analysis.equity import CandidateNorm, norm_equity, what_if
from reports.analysis.schools import school_figures
from tests.reports.analysis.conftest import MBIT, verdicts


@pytest.fixture
def figures(schools, roll_ups):
    return school_figures(schools, roll_ups, verdicts([]))


def test_rural_schools_passing_their_norm_but_not_the_urban_one(figures) -> None:
    # R1 7 Mbit/s >= 4 (rural) and < 20; R2 3 Mbit/s >= 2 (ungraded) and < 20; R3 0 fails its own; S1 silent.
    equity = norm_equity(figures, load_policy("ministry"))
    assert (equity.schools, equity.students, equity.rural_counted) == (2, 240, 3)
    assert (equity.rural_norm_bps, equity.urban_norm_bps) == (4 * MBIT, 20 * MBIT)


def test_under_equal_norms_nobody_is_caught_between(figures) -> None:
    assert norm_equity(figures, load_policy("equal-norms")).schools == 0


def test_what_if_counts_and_contract_to_add(figures) -> None:
    table = what_if(figures, (CandidateNorm(download_bps=4 * MBIT), CandidateNorm(download_bps=10 * MBIT),
                              CandidateNorm(per_student_bps=50e3)))
    rows = table[["schools_below", "students_below", "contract_to_add_bps", "below_with_enough_contract"]]
    # 4 Mbit/s: R2 (3 < 4, contract 4 already) and R3 (contract 0 -> add 4).
    assert rows.iloc[0].tolist() == [2, 140, 4 * MBIT, 1]
    # 10 Mbit/s: R1 (contract 10 already), R2 (add 6), R3 (add 10).
    assert rows.iloc[1].tolist() == [3, 340, 16 * MBIT, 1]
    # 50 kbit/s x busiest shift: R1 needs 5 (has 7), R2 needs 2 (has 3), R3 needs 5 (has 0 -> add 5).
    assert rows.iloc[2].tolist() == [1, 100, 5 * MBIT, 0]
