"""The retry policy shared by every sender of batches: full-jitter backoff and a busy server's Retry-After."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from probes.retry import BUSY_STATUSES, RetryPolicy, retry_after_seconds

POLICY = RetryPolicy(initial_seconds=2.0, max_seconds=60.0)


def test_retry_after_takes_seconds_or_a_date():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30)
    assert retry_after_seconds(formatdate(999_000, usegmt=True), now=1_000_000) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("-5") is None and retry_after_seconds("") is None


def test_a_busy_answer_waits_what_it_asks_within_one_second_and_the_maximum():
    assert POLICY.busy_seconds("10") == 10
    assert POLICY.busy_seconds("0") == 1.0                      # a proxy's zero cannot make the sender hammer
    assert POLICY.busy_seconds("86400") == 60.0                 # ... nor its day stall the sender
    assert POLICY.busy_seconds(formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30)
    assert POLICY.busy_seconds("later") is None and POLICY.busy_seconds(None) is None
    assert BUSY_STATUSES == {429, 503}


def test_backoff_is_full_jitter_under_a_doubling_ceiling_capped_at_the_maximum():
    random.seed(7)
    for failures, ceiling in [(0, 2.0), (1, 4.0), (2, 8.0), (4, 32.0), (5, 60.0), (30, 60.0)]:
        draws = [POLICY.backoff_seconds(failures) for _ in range(2000)]
        assert min(draws) >= 0 and max(draws) <= ceiling
        assert min(draws) < 0.05 * ceiling and max(draws) > 0.95 * ceiling     # the whole range, not a fixed step


def test_backoff_after_days_of_failures_stays_a_number_under_the_maximum():
    assert 0 <= POLICY.backoff_seconds(5000) <= 60.0             # 2.0 × 2^5000 would overflow a float
