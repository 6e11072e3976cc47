"""A readiness step's statistics: answered-only quantiles, the clear break, batch-means intervals and margins."""

import math

from loadtests.slo import parse_slo
from loadtests.stepstats import Batch, clearly_broken, estimates, margins, quantile_seconds

SLO = parse_slo("p95<500ms,errors<1%")


def test_quantiles_are_over_the_answered_requests_in_seconds():
    counts = {10: 90, 400: 5, 900: 5}
    assert quantile_seconds(counts, 0.5) == 0.010
    assert quantile_seconds(counts, 0.95) == 0.400
    assert quantile_seconds(counts, 0.99) == 0.900
    assert quantile_seconds({}, 0.95) == 0.0


def test_a_clear_break_needs_a_wide_miss_and_enough_evidence():
    assert clearly_broken(SLO, {100: 1000}, failed=49) is None          # 4.7 % errors, but only 49 refusals
    assert clearly_broken(SLO, {100: 1000}, failed=60) == "errors"     # 5.7 % > 3 x 1 %
    assert clearly_broken(SLO, {100: 1000}, failed=25) is None
    assert clearly_broken(SLO, {100: 900, 800: 100}, failed=0) == "p95"  # 800 ms > 1.5 x 500 ms
    assert clearly_broken(SLO, {100: 900, 700: 100}, failed=0) is None   # 700 ms: broken, not clearly
    assert clearly_broken(SLO, {100: 90, 800: 10}, failed=0) is None     # 10 answers beyond p95 are too few


def test_batches_give_an_interval_that_narrows_with_agreeing_batches_and_margins_that_sign_the_verdict():
    steady = [Batch(1, {100: 94, 300: 6}, 1) for _ in range(8)]
    noisy = [Batch(1, {100: 94, 300 + 150 * (i % 2): 6}, i % 3) for i in range(8)]
    calm, rough = estimates(SLO, steady), estimates(SLO, noisy)
    assert calm["p95"].value == 0.3 and calm["p95"].half_width < 1e-9
    assert rough["p95"].half_width > 0 and rough["errors"].half_width > 0
    assert math.isinf(estimates(SLO, steady[:1])["p95"].half_width)
    within = margins(SLO, calm, requests=808)
    assert within.point < 0 and abs(within.upper - within.point) < 1e-9 and abs(within.lower - within.point) < 1e-9
    broken = margins(SLO, estimates(SLO, [Batch(1, {100: 90, 600: 10}, 3) for _ in range(5)]), requests=515)
    assert broken.point > 0 and broken.lower > 0
