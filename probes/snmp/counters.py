"""Rates from SNMP counters, done right: wraps, resets and the first poll.

A rate needs two readings of the same counter. Between them a 32-bit counter may have wrapped (at
100 Mbit/s, ifInOctets wraps every ~6 minutes), the device may have rebooted (its counters start again
from zero, and so does sysUpTime), and the first reading has nothing to compare with. 64-bit counters
(ifHC*) are used wherever the device has them: they do not wrap in practice, so a 64-bit counter that
went back was reset. A wrap of a 32-bit counter cannot be told from a reset by the counter alone; the
device's sysUpTime tells a reboot, and an implied rate above what the interface can carry tells the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

TICKS_PER_SECOND = 100                  # sysUpTime is in hundredths of a second ...
UPTIME_MODULO = 2**32                   # ... in a TimeTicks, which wraps after 497 days
UPTIME_SLACK_SECONDS = 5.0              # agent and poller clocks may differ by this much over an interval


@dataclass(frozen=True)
class Reading:
    """One counter value, its width (32 or 64 bits), the device's sysUpTime (ticks) and the poller's
    monotonic time (seconds) when it was read."""

    value: int
    bits: int
    uptime_ticks: int
    at: float


def rebooted(previous: Reading, current: Reading) -> bool:
    """True when the device restarted between the readings: its sysUpTime is not where the elapsed time
    says it should be (it went back, and not by a TimeTicks wrap after 497 days)."""
    elapsed = current.at - previous.at
    expected = (previous.uptime_ticks + elapsed * TICKS_PER_SECOND) % UPTIME_MODULO
    drift = abs(current.uptime_ticks - expected)
    drift = min(drift, UPTIME_MODULO - drift)                   # near the wrap, measure around the circle
    return drift > max(UPTIME_SLACK_SECONDS, 0.05 * elapsed) * TICKS_PER_SECOND


def increase(previous: Reading, current: Reading) -> int | None:
    """How much the counter grew between the readings, or None when that is unknowable (a reboot, a
    64-bit counter that went back, a change of counter width)."""
    if previous.bits != current.bits or rebooted(previous, current):
        return None
    delta = current.value - previous.value
    if delta >= 0:
        return delta
    if current.bits == 32:
        return delta + 2**32                                    # one wrap
    return None                                                 # a 64-bit counter going back was reset


def rate(previous: Reading | None, current: Reading, ceiling_per_second: float | None = None) -> float | None:
    """Increase per second of the poller's clock; None on the first poll, after a reset, for an interval
    under a second, or when a 32-bit counter went back and the wrap this assumes would mean more than
    `ceiling_per_second` (what the interface can carry): then it was reset, not wrapped. A counter that
    only grew is taken as it is (virtual ports such as lo report speeds they exceed)."""
    if previous is None:
        return None
    elapsed = current.at - previous.at
    grown = increase(previous, current)
    if grown is None or elapsed < 1.0:
        return None
    per_second = grown / elapsed
    wrapped = current.value < previous.value
    if wrapped and ceiling_per_second is not None and per_second > ceiling_per_second * 1.1:
        return None
    return per_second
