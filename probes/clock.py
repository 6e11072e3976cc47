"""The probe's knowledge of its own clock: an offset learned from the collector's `Date` header.

Boxes without a real-time clock boot with a wrong time. The offset (probe clock minus reference
clock, seconds) is anchored to the monotonic clock when it is learned, so a later step of the wall
clock (NTP, an operator) changes the offset reported rather than silently corrupting results.
Until the first answer from the collector the offset is unknown, unless the kernel says NTP has
synchronised the clock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

DATE_HEADER_RESOLUTION_SECONDS = 1.0   # HTTP dates carry whole seconds
_TIME_ERROR = 5                         # adjtimex(2): clock not synchronised
_STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("padding", ctypes.c_int * 11)]


def ntp_synchronised() -> bool | None:
    """The kernel's view (adjtimex, read only): True if NTP disciplines the clock, None if unknown."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR and not timex.status & _STA_UNSYNC


@dataclass
class Clock:
    """Wall time, monotonic time and the offset learned so far; clocks are injectable for tests."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    ntp: Callable[[], bool | None] = ntp_synchronised
    _anchor: tuple[float, float] | None = field(default=None, repr=False)   # (monotonic, reference unix time)
    uncertainty_seconds: float | None = None

    def learn(self, date_header: str, sent_monotonic: float, received_monotonic: float) -> float | None:
        """Take a reference time from an HTTP `Date` header seen between the two monotonic instants.

        The server stamped the header somewhere in the exchange and truncated it to the second, so
        the reference at the midpoint is the header + 0.5 s, uncertain by ±(0.5 s + half the exchange).
        A sample less certain than the one held is ignored unless the held one is an hour old.
        Returns the offset in seconds, or None when the header does not parse.
        """
        try:
            reference = parsedate_to_datetime(date_header).timestamp() + DATE_HEADER_RESOLUTION_SECONDS / 2
        except (TypeError, ValueError):
            return None
        midpoint = (sent_monotonic + received_monotonic) / 2
        uncertainty = DATE_HEADER_RESOLUTION_SECONDS / 2 + (received_monotonic - sent_monotonic) / 2
        stale = self._anchor is None or received_monotonic - self._anchor[0] > 3600
        if stale or self.uncertainty_seconds is None or uncertainty <= self.uncertainty_seconds:
            self._anchor = (midpoint, reference)
            self.uncertainty_seconds = uncertainty
        return self.offset_seconds()

    def reference_now(self) -> float | None:
        """The reference clock's time now (unix seconds), or None before the first answer."""
        if self._anchor is None:
            return None
        anchor_monotonic, anchor_reference = self._anchor
        return anchor_reference + (self.monotonic() - anchor_monotonic)

    def offset_seconds(self) -> float | None:
        """Probe clock minus reference clock in seconds; 0.0 if only NTP vouches; None if unknown."""
        reference = self.reference_now()
        if reference is not None:
            return self.wall() - reference
        return 0.0 if self.ntp() else None

    def source(self) -> str:
        """Where the offset comes from: 'collector-date', 'ntp' or 'unknown'."""
        if self._anchor is not None:
            return "collector-date"
        return "ntp" if self.ntp() else "unknown"
