"""Asia/Almaty, checked: every school day and school hour is evaluated in it, never in the host's zone."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo

ZONE_NAME = "Asia/Almaty"
EXPECTED_OFFSET_SECONDS = 5 * 3600   # UTC+5 for the whole country since 2024-03-01 (tzdata 2024a)
_PROBE_INSTANT = datetime(2025, 1, 15, tzinfo=timezone.utc)


@cache
def almaty() -> ZoneInfo:
    """The Asia/Almaty zone with the 2024 change, from the system database or else the tzdata package."""
    zone = ZoneInfo(ZONE_NAME)
    if _offset(zone) == EXPECTED_OFFSET_SECONDS:
        return zone
    # The host's zone files predate tzdata 2024a (Almaty was UTC+6): use the pinned Python package.
    from importlib import resources

    with resources.files("tzdata.zoneinfo").joinpath("Asia", "Almaty").open("rb") as handle:
        zone = ZoneInfo.from_file(handle, key=ZONE_NAME)
    if _offset(zone) != EXPECTED_OFFSET_SECONDS:
        raise RuntimeError("tzdata 2024a or later is required: Asia/Almaty must be UTC+5 since 2024-03-01")
    return zone


def to_local(instant: datetime) -> datetime:
    """The same instant in Asia/Almaty; a naive datetime is refused, never guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no time zone; give times in UTC or with an offset")
    return instant.astimezone(almaty())


def _offset(zone: ZoneInfo) -> float:
    return _PROBE_INSTANT.astimezone(zone).utcoffset().total_seconds()
