"""The collector's housekeeping: daily roll-ups (and day-level verdicts) as results arrive, raw-data retention.

Runs in one daemon thread beside the API; each pass is bounded, so a large backlog (a national
outage's uploads) is rolled up over several passes without holding the store for long. A simulated
history is rolled up and judged by the same `roll_up_all` and `day_judge` (collectors.fleet_upload).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone

from collectors.exporter import VERDICT_KINDS, Verdicts
from collectors.store import DayJudge, Store
from core.timezone import to_local

log = logging.getLogger("mektepnet.collector.maintenance")


def day_judge(verdicts: Verdicts) -> DayJudge:
    """How the collector judges each day it rolls up: by `verdicts`' policy over that one day, on the kinds
    the norms read."""
    return DayJudge(verdicts.policy.name, verdicts.judge, VERDICT_KINDS)


def roll_up_all(store: Store, judges: Sequence[DayJudge] = (), stop: threading.Event | None = None) -> int:
    """Roll up (and judge) every day that got results, in bounded passes, until none is left or `stop` is set;
    returns the school-days rolled up."""
    rolled = 0
    while count := store.roll_up(judges):
        rolled += count
        if stop is not None and stop.is_set():
            break
    return rolled


def retention_horizon(months: int, now: datetime | None = None) -> date:
    """The first local day whose raw results are kept: the first of the month `months` months ago."""
    today = to_local(now or datetime.now(timezone.utc)).date()
    month_index = today.year * 12 + today.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, 1)


class Maintenance:
    """Roll up every `every_seconds`; drop raw results older than `raw_months` months once an hour."""

    def __init__(self, store: Store, raw_months: int, judges: Sequence[DayJudge] = (), every_seconds: float = 30.0):
        self.store, self.raw_months, self.judges, self.every_seconds = store, raw_months, tuple(judges), every_seconds
        self._stop = threading.Event()
        self._last_retention = 0.0

    def run_once(self) -> int:
        """One pass: roll up until nothing is left to do (in bounded batches), then retention if due."""
        rolled = roll_up_all(self.store, self.judges, self._stop)
        if time.monotonic() - self._last_retention > 3600 or not self._last_retention:
            horizon = retention_horizon(self.raw_months)
            dropped = self.store.drop_raw_before(horizon.isoformat())
            self._last_retention = time.monotonic()
            if dropped:
                log.info("dropped %d raw results of days before %s (roll-ups kept)", dropped, horizon)
        return rolled

    def start(self) -> None:
        """Run passes in a daemon thread until stop()."""
        def loop() -> None:
            while not self._stop.wait(self.every_seconds):
                try:
                    self.run_once()
                except Exception:             # noqa: BLE001 - the next pass tries again
                    log.exception("maintenance pass failed")

        self._thread = threading.Thread(target=loop, name="maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass and wait for it (the store may be closed next)."""
        self._stop.set()
        if getattr(self, "_thread", None) is not None:
            self._thread.join()
