"""The probe host itself: which interface carries its traffic, wired or Wi-Fi, and its byte counters."""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from pathlib import Path

SYS_NET = Path("/sys/class/net")
PROC_ROUTE = Path("/proc/net/route")


def default_interface(route_table: Path = PROC_ROUTE) -> str | None:
    """The interface of the IPv4 default route, or None when there is none."""
    try:
        lines = route_table.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":
            return fields[0]
    return None


def link_type(interface: str | None, sys_net: Path = SYS_NET) -> str:
    """'wifi', 'wired', 'loopback' or 'unknown' for an interface."""
    if interface is None or not (sys_net / interface).exists():
        return "unknown"
    if interface == "lo":
        return "loopback"
    if (sys_net / interface / "wireless").exists() or (sys_net / interface / "phy80211").exists():
        return "wifi"
    return "wired"


@dataclass(frozen=True)
class InterfaceBytes:
    """Bytes received and sent by an interface since boot, read at one instant."""

    received: int
    sent: int


def interface_bytes(interface: str | None, sys_net: Path = SYS_NET) -> InterfaceBytes | None:
    """The interface's byte counters, or None when they cannot be read."""
    if interface is None:
        return None
    try:
        statistics = sys_net / interface / "statistics"
        return InterfaceBytes(int((statistics / "rx_bytes").read_text()), int((statistics / "tx_bytes").read_text()))
    except (OSError, ValueError):
        return None


def other_traffic_bps(before: InterfaceBytes | None, after: InterfaceBytes | None, own_bytes: float,
                      seconds: float) -> float | None:
    """The host's traffic during a test that was not the test itself, in bit/s (never negative)."""
    if before is None or after is None or seconds <= 0:
        return None
    total = (after.received - before.received) + (after.sent - before.sent)
    return max(0.0, total - own_bytes) * 8 / seconds


def release_memory() -> None:
    """Hand freed heap back to the system (glibc malloc_trim) after a memory-hungry moment such as a test."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
