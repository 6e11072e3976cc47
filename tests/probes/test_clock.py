"""The probe's clock: offset from the collector's Date header, robust to wall-clock steps, unknown until learned."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from probes.clock import Clock, ntp_synchronised


class Clocks:
    """A wall clock that can be stepped and a monotonic one, both set by the test."""

    def __init__(self, wall: float):
        self.wall_value, self.mono_value = wall, 1000.0

    def wall(self) -> float:
        return self.wall_value

    def monotonic(self) -> float:
        return self.mono_value


def test_offset_is_unknown_until_learned_without_ntp():
    clocks = Clocks(1_700_000_000.0)
    clock = Clock(wall=clocks.wall, monotonic=clocks.monotonic, ntp=lambda: False)
    assert clock.offset_seconds() is None and clock.source() == "unknown"
    assert Clock(wall=clocks.wall, monotonic=clocks.monotonic, ntp=lambda: True).offset_seconds() == 0.0


def test_a_box_booted_a_year_late_learns_its_offset():
    true_time = 1_790_000_000.0
    clocks = Clocks(true_time - 365 * 86400)                  # no RTC: the clock starts a year behind
    clock = Clock(wall=clocks.wall, monotonic=clocks.monotonic, ntp=lambda: False)
    offset = clock.learn(formatdate(true_time, usegmt=True), clocks.mono_value - 0.05, clocks.mono_value + 0.05)
    assert offset == pytest.approx(-365 * 86400, abs=1.0)
    assert clock.source() == "collector-date" and clock.uncertainty_seconds == pytest.approx(0.55)


def test_a_later_wall_clock_step_shows_in_the_offset_not_in_the_reference():
    clocks = Clocks(1_790_000_000.0)
    clock = Clock(wall=clocks.wall, monotonic=clocks.monotonic, ntp=lambda: False)
    clock.learn(formatdate(clocks.wall_value, usegmt=True), clocks.mono_value, clocks.mono_value)
    before = clock.offset_seconds()
    clocks.wall_value += 3600 + 10            # NTP steps the clock an hour forward while 10 s pass
    clocks.mono_value += 10
    assert clock.offset_seconds() == pytest.approx(before + 3600, abs=1e-6)
    assert clock.reference_now() == pytest.approx(clocks.wall_value - 3600 - before, abs=1e-6)


def test_less_certain_samples_do_not_replace_a_good_one():
    clocks = Clocks(1_790_000_000.0)
    clock = Clock(wall=clocks.wall, monotonic=clocks.monotonic, ntp=lambda: False)
    clock.learn(formatdate(clocks.wall_value, usegmt=True), clocks.mono_value - 0.01, clocks.mono_value + 0.01)
    good = clock.offset_seconds()
    clock.learn(formatdate(clocks.wall_value + 5, usegmt=True), clocks.mono_value - 4, clocks.mono_value + 4)
    assert clock.offset_seconds() == good
    assert clock.learn("not a date", 0, 1) is None and clock.offset_seconds() == good


def test_the_kernel_ntp_state_is_readable():
    assert ntp_synchronised() in (True, False, None)
