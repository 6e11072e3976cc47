"""The adaptive data budget: when a subtest may stop early, and what it then reports.

Rule (stated once, here): the transfer is sampled every 100 ms from the kernel's byte counters. A
window lasts max(250 ms, 2 x MinRTT). The subtest may stop when
  - it has run at least max(1.5 s, 10 x MinRTT) and at least `windows` whole windows (slow start is
    over long before that on any path where the rate can be stable), and
  - the projected 10-s goodput is known well enough: the relative spread (max - min) / mean of the
    last `windows` window rates, taken as `spread_to_error` x that spread of uncertainty on the rate
    and weighted by the share of the 10 s still to come, is at most `max_projection_error`.
    Early on this asks for a steady rate (spread <= 7 % at 1.5 s); later it tolerates the sawtooth of
    a lossy path, whose remaining seconds weigh less and less.
Four windows, not six: replaying 10-s traces of a grid through both (docs/benchmarks.md) cut the
bytes from 40 % to 29 % of the full tests' at the same worst error; a rule on the trend between the
two halves of the span (quieter than the spread of short windows) stopped in slopes and drops it could
not see, up to 8 % off. It then reports the projected 10-s goodput: the bytes moved so far plus the
mean rate of those windows
for the rest of the 10 s, over 10 s, so that an early stop reads what the full test would have read
(ramp-up included) and stays comparable with full tests and with other ndt7 clients. A subtest that
reaches the byte cap or runs its full length reports its measured goodput.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from probes.ndt7.spec import DEFAULT_RUNTIME_SECONDS


@dataclass(frozen=True)
class StopRule:
    """The parameters of the early-stop rule (seconds, ratios)."""

    sample_interval_seconds: float = 0.1
    min_window_seconds: float = 0.25
    windows: int = 4
    spread_to_error: float = 0.25
    max_projection_error: float = 0.015
    min_seconds: float = 1.5
    min_rtts: int = 10
    runtime_seconds: float = DEFAULT_RUNTIME_SECONDS


@dataclass(frozen=True)
class Stable:
    """The rate was stable: at `elapsed` seconds, `rate_bps` over the last windows."""

    elapsed: float
    rate_bps: float
    bytes_so_far: int

    def projected_bps(self, runtime: float = DEFAULT_RUNTIME_SECONDS) -> float:
        """The goodput a full `runtime` test would read if the rate stayed as it is."""
        remaining = max(runtime - self.elapsed, 0.0)
        return (self.bytes_so_far * 8 + self.rate_bps * remaining) / max(runtime, self.elapsed)


class RateEstimator:
    """Cumulative bytes over time from one subtest; says when the rate has become stable."""

    def __init__(self, rule: StopRule, min_rtt_seconds: float | None):
        self.rule = rule
        rtt = min_rtt_seconds or 0.0
        self.window = max(rule.min_window_seconds, 2 * rtt)
        self.earliest = max(rule.min_seconds, rule.min_rtts * rtt, rule.windows * self.window)
        self.times: list[float] = [0.0]
        self.bytes: list[int] = [0]

    def add(self, elapsed: float, total_bytes: int) -> None:
        """Record that `total_bytes` had moved `elapsed` seconds into the subtest."""
        if elapsed > self.times[-1]:
            self.times.append(elapsed)
            self.bytes.append(max(total_bytes, self.bytes[-1]))

    def stable(self) -> Stable | None:
        """A Stable verdict if the rule holds at the latest sample, else None."""
        now = self.times[-1]
        if now < self.earliest:
            return None
        edges = [now - k * self.window for k in range(self.rule.windows + 1)]
        at = [self._bytes_at(t) for t in edges]
        rates = [(at[k] - at[k + 1]) * 8 / self.window for k in range(self.rule.windows)]
        mean = sum(rates) / len(rates)
        if mean <= 0:
            return None
        remaining = max(self.rule.runtime_seconds - now, 0.0) / self.rule.runtime_seconds
        error = (max(rates) - min(rates)) / mean * self.rule.spread_to_error * remaining
        if error > self.rule.max_projection_error:
            return None
        return Stable(now, mean, self.bytes[-1])

    def _bytes_at(self, t: float) -> float:
        """Bytes moved by time t, linearly interpolated between samples."""
        i = bisect_left(self.times, t)
        if i == 0:
            return float(self.bytes[0])
        if i >= len(self.times):
            return float(self.bytes[-1])
        t0, t1 = self.times[i - 1], self.times[i]
        b0, b1 = self.bytes[i - 1], self.bytes[i]
        return b0 + (b1 - b0) * (t - t0) / (t1 - t0)
