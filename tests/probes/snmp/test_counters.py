"""Counter arithmetic: 32-bit wraps, 64-bit counters, reboots, the first poll, and nothing in between."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from probes.snmp.counters import Reading, increase, rate, rebooted

DAY_TICKS = 86_400 * 100


def test_the_first_poll_gives_no_rate():
    assert rate(None, Reading(1000, 64, DAY_TICKS, 0.0)) is None


def test_a_steady_counter_gives_its_rate_per_second():
    assert rate(Reading(1_000, 64, DAY_TICKS, 0.0), Reading(61_000, 64, DAY_TICKS + 6000, 60.0)) == 1000.0


def test_a_32_bit_counter_that_wrapped_once_gives_the_true_increase():
    before = Reading(2**32 - 1_000, 32, DAY_TICKS, 0.0)
    after = Reading(4_000, 32, DAY_TICKS + 1000, 10.0)
    assert increase(before, after) == 5_000 and rate(before, after) == 500.0


def test_a_reboot_gives_no_false_spike_on_either_width():
    for bits in (32, 64):
        before = Reading(9_000_000, bits, 40 * DAY_TICKS, 0.0)
        after = Reading(2_000, bits, 3_000, 60.0)                  # uptime 30 s: the device restarted
        assert rebooted(before, after) and rate(before, after) is None


def test_a_64_bit_counter_going_back_without_a_reboot_is_a_reset_not_a_wrap():
    assert rate(Reading(5_000, 64, DAY_TICKS, 0.0), Reading(10, 64, DAY_TICKS + 6000, 60.0)) is None


def test_sysuptime_wrapping_after_497_days_is_not_a_reboot():
    before = Reading(1_000, 64, 2**32 - 500, 0.0)
    after = Reading(11_000, 64, 1_500 - 1, 20.0)                 # 20 s later, the TimeTicks wrapped
    assert not rebooted(before, after) and rate(before, after) == 500.0


def test_a_32_bit_reset_misread_as_a_wrap_is_caught_by_the_interface_ceiling():
    before = Reading(3_000_000, 32, DAY_TICKS, 0.0)
    after = Reading(1_000, 32, DAY_TICKS + 6000, 60.0)            # looks like a wrap: 71 MB/s
    assert rate(before, after) is not None
    assert rate(before, after, ceiling_per_second=100e6 / 8) is None   # a 100 Mbit/s port cannot


def test_readings_under_a_second_apart_give_no_rate():
    assert rate(Reading(0, 64, DAY_TICKS, 0.0), Reading(10, 64, DAY_TICKS + 50, 0.5)) is None


@given(start=st.integers(0, 2**32 - 1), grown=st.integers(0, 2**32 - 1), seconds=st.integers(1, 3600),
       uptime=st.integers(0, 2**32 - 1))
def test_any_single_wrap_of_a_32_bit_counter_is_recovered_exactly(start, grown, seconds, uptime):
    before = Reading(start, 32, uptime, 100.0)
    after = Reading((start + grown) % 2**32, 32, (uptime + seconds * 100) % 2**32, 100.0 + seconds)
    assert increase(before, after) == grown


@given(value=st.integers(0, 2**64 - 1), grown=st.integers(0, 2**40), seconds=st.floats(1, 86_400))
def test_64_bit_rates_are_increase_over_elapsed_time(value, grown, seconds):
    before = Reading(value, 64, DAY_TICKS, 0.0)
    after = Reading(value + grown, 64, DAY_TICKS + round(seconds * 100), seconds)
    assert rate(before, after) == grown / seconds
