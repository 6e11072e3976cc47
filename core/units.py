"""Quantities with units, for configuration files: bit/s, seconds and ratios in base units.

A threshold may be written as a bare number in the base unit (`20000000`) or with an explicit unit
(`"20 Mbit/s"`, `"100 ms"`, `"1 %"`). Bare numbers that cannot be right in the base unit (a download
norm of 20 bit/s, an RTT of 100 s) are refused: they are nearly always a unit mistake.
"""

from __future__ import annotations

import re

_NUMBER_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z/%]*)\s*$")

BIT_RATE_UNITS = {
    "bit/s": 1.0, "bps": 1.0,
    "kbit/s": 1e3, "kbps": 1e3,
    "mbit/s": 1e6, "mbps": 1e6,
    "gbit/s": 1e9, "gbps": 1e9,
}
DURATION_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0}
RATIO_UNITS = {"": 1.0, "%": 0.01}

# The plausible range of a bare number in base units; outside it the unit is almost surely wrong.
MIN_PLAUSIBLE_BPS = 1_000.0
MAX_PLAUSIBLE_SECONDS = 10.0


def _split(text: str) -> tuple[float, str]:
    match = _NUMBER_UNIT.match(text)
    if not match:
        raise ValueError(f"cannot read {text!r} as a number with a unit")
    return float(match.group(1)), match.group(2).lower()


def _bare(value: object) -> object:
    """A numeric string without a unit is a bare number in the base unit."""
    if isinstance(value, str):
        number, unit = _split(value)
        if unit == "":
            return number
    return value


def parse_bit_rate(value: object) -> float:
    """Return a bit rate in bit/s from a bare number of bit/s or a string such as '20 Mbit/s'."""
    if isinstance(value, bool):
        raise ValueError("a bit rate must be a number of bit/s or a string like '20 Mbit/s'")
    value = _bare(value)
    if isinstance(value, (int, float)):
        if 0 < value < MIN_PLAUSIBLE_BPS:
            raise ValueError(
                f"{value} bit/s is implausibly low: the unit is bit/s "
                f"(write '{value} Mbit/s' or {value * 1e6:.0f})")
        return _non_negative(float(value))
    number, unit = _split(str(value))
    if unit not in BIT_RATE_UNITS:
        raise ValueError(f"unknown bit-rate unit {unit!r}; use one of bit/s, kbit/s, Mbit/s, Gbit/s")
    return _non_negative(number * BIT_RATE_UNITS[unit])


def parse_duration(value: object) -> float:
    """Return a duration in seconds from a bare number of seconds or a string such as '100 ms'."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '100 ms'")
    value = _bare(value)
    if isinstance(value, (int, float)):
        if value > MAX_PLAUSIBLE_SECONDS:
            raise ValueError(
                f"{value} s is implausibly long for a network delay: the unit is seconds "
                f"(write '{value} ms' or {value / 1000:g})")
        return _non_negative(float(value))
    number, unit = _split(str(value))
    if unit not in DURATION_UNITS:
        raise ValueError(f"unknown duration unit {unit!r}; use one of s, ms, us")
    return _non_negative(number * DURATION_UNITS[unit])


def parse_ratio(value: object) -> float:
    """Return a ratio in 0..1 from a bare ratio or a percentage string such as '1 %'."""
    if isinstance(value, bool):
        raise ValueError("a ratio must be a number in 0..1 or a percentage like '1 %'")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        number, unit = _split(str(value))
        if unit not in RATIO_UNITS:
            raise ValueError(f"unknown ratio unit {unit!r}; write a ratio in 0..1 or a percentage like '1 %'")
    ratio = round(number * RATIO_UNITS[unit], 12)
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{value} is not a ratio in 0..1 (write a percentage as '{value} %')")
    return ratio


def format_bit_rate(bps: float) -> str:
    """Format bit/s for people: '20 Mbit/s', '512 kbit/s'."""
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.3g} {unit}"
    return f"{bps:.0f} bit/s"


def format_duration(seconds: float) -> str:
    """Format seconds for people: '35 ms', '1.2 s'."""
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _non_negative(number: float) -> float:
    if number < 0:
        raise ValueError("must not be negative")
    return number
