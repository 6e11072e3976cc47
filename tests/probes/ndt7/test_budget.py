import pytest

from probes.ndt7.budget import RateEstimator, Stable, StopRule
from probes.ndt7.spec import MAX_SCALED_MESSAGE_SIZE, MIN_MESSAGE_SIZE, next_message_size
from probes.ndt7.transfer import poisson_interval


def feed(estimator: RateEstimator, rate_at, seconds: float, step: float = 0.1):
    """Feed cumulative bytes of a transfer whose rate (bit/s) at time t is rate_at(t); return the first Stable."""
    total, t = 0.0, 0.0
    while t < seconds:
        t += step
        total += rate_at(t) * step / 8
        estimator.add(t, int(total))
        if (found := estimator.stable()) is not None:
            return found
    return None


def test_a_steady_rate_stops_early_and_projects_the_full_test():
    estimator = RateEstimator(StopRule(), min_rtt_seconds=0.05)
    stable = feed(estimator, lambda t: 10e6, 10)
    assert stable is not None and 1.5 <= stable.elapsed <= 2.0
    assert stable.rate_bps == pytest.approx(10e6, rel=0.01)
    assert stable.projected_bps() == pytest.approx(10e6, rel=0.01)


def test_slow_start_is_never_taken_for_stability():
    # The rate doubles every 2 RTTs (300 ms RTT): not stable while it grows.
    estimator = RateEstimator(StopRule(), min_rtt_seconds=0.3)
    assert feed(estimator, lambda t: min(1e5 * 2 ** (t / 0.6), 1e12), 8) is None


def test_a_long_rtt_path_waits_ten_rtts():
    estimator = RateEstimator(StopRule(), min_rtt_seconds=0.3)
    stable = feed(estimator, lambda t: 2e6, 10)
    assert stable is not None and stable.elapsed >= 10 * 0.3      # ten RTTs (more than 4 windows of 2 x 300 ms)


def test_a_sawtooth_runs_long_and_still_projects_its_mean():
    estimator = RateEstimator(StopRule(), min_rtt_seconds=0.05)
    stable = feed(estimator, lambda t: 10e6 if int(t * 2) % 2 else 6e6, 10)
    assert stable is not None and stable.elapsed >= 8.0
    assert stable.projected_bps() == pytest.approx(8e6, rel=0.03)


def test_the_projection_keeps_the_ramp_up():
    # 1 s of ramp at half rate, then 10 Mbit/s: a 10-s test would read 9.5 Mbit/s.
    stable = Stable(elapsed=3.0, rate_bps=10e6, bytes_so_far=int((0.5 * 5e6 + 2 * 10e6 + 0.5 * 10e6) / 8 * 1))
    assert stable.projected_bps() == pytest.approx((stable.bytes_so_far * 8 + 10e6 * 7) / 10)


def test_message_sizes_scale_as_the_spec_says():
    size, sent, sizes = MIN_MESSAGE_SIZE, 0, []
    for _ in range(2000):
        sent += size
        sizes.append(size)
        size = next_message_size(size, sent)
    assert sizes[0] == 8192 and max(sizes) == MAX_SCALED_MESSAGE_SIZE
    for previous, current in zip(sizes, sizes[1:]):
        assert current in (previous, 2 * previous)


def test_measurement_intervals_respect_the_rate_cap():
    import random

    rng = random.Random(1)
    draws = [poisson_interval(rng) for _ in range(5000)]
    assert min(draws) >= 0.1 and max(draws) <= 1.0
    assert 0.22 <= sum(draws) / len(draws) <= 0.32
