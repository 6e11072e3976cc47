"""A simulated history with raw rows for its last days only: the older days' roll-ups and verdicts, computed
from memory by the collector's own roll-up and judges, are the ones the all-raw path gives."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from collectors.fleet_upload import into_store
from collectors.simulator import LEAN, FleetSimulator, Troubles
from collectors.store import Store, is_postgresql
from core.norms import load_policy
from core.synthetic import generate_registry
from core.timezone import almaty

FIRST = date(2026, 11, 16)          # a Monday: ten days hold a weekend and two school weeks' days
DAYS, RAW_DAYS = 10, 3
TROUBLES = Troubles(silent=0.05, outage_day=0.05, unknown_clock=0.1, skewed_clock=0.1)


def contents(store: Store, policies) -> tuple[list, list]:
    """Every `daily` row and every day verdict of every policy, in one order."""
    daily = store._read("SELECT school_id, day, kind, samples, quarantined, failed, p10, median, p90, mean FROM daily "
                        "ORDER BY school_id, day, kind")
    verdicts = sorted((policy.name, *key, status) for policy in policies
                      for key, status in store.daily_verdicts(policy.name).items())
    return [tuple(row) for row in daily], verdicts


@pytest.mark.parametrize("workers", [1, 2])
def test_older_days_rolled_up_from_memory_match_the_all_raw_path_on_every_day(store_url, request, calendar, workers):
    registry = generate_registry(30, seed=13)
    policies = [load_policy("ministry"), load_policy("giga-2030")]
    simulator = FleetSimulator(registry, calendar, seed=4, schedule=LEAN, troubles=TROUBLES)
    other_url = request.getfixturevalue("postgres").database() if is_postgresql(store_url) else store_url + ".raw"
    stores = {"all raw": Store(other_url), "last days raw": Store(store_url)}
    try:
        handled = {"all raw": into_store(simulator, stores["all raw"], FIRST, DAYS, policies),
                   "last days raw": into_store(simulator, stores["last days raw"], FIRST, DAYS, policies,
                                               raw_days=RAW_DAYS, workers=workers)}
        assert handled["all raw"] == handled["last days raw"] == stores["all raw"].count() > 30 * DAYS
        daily, verdicts = contents(stores["all raw"], policies)
        assert contents(stores["last days raw"], policies) == (daily, verdicts)
        every_day = {(FIRST + timedelta(days=offset)).isoformat() for offset in range(DAYS)}
        assert every_day <= {row[1] for row in daily} and every_day <= {row[2] for row in verdicts}
        assert any(row[4] for row in daily)                                 # quarantined results were counted
        today = datetime.now(almaty()).date().isoformat()                   # where an unknown clock's are filed
        raw_days = {day for (day,) in stores["last days raw"]._read("SELECT DISTINCT day FROM measurements")}
        last = {(FIRST + timedelta(days=offset)).isoformat() for offset in range(DAYS - RAW_DAYS, DAYS)}
        assert last <= raw_days <= last | {today}
        assert stores["last days raw"].count() < stores["all raw"].count() / 2
    finally:
        for store in stores.values():
            store.close()


def test_without_raw_days_nothing_but_unknown_clocks_is_stored_raw(tmp_path, calendar):
    registry = generate_registry(12, seed=3)
    troubles = Troubles(unknown_clock=0.0, skewed_clock=0.0)
    simulator = FleetSimulator(registry, calendar, seed=2, schedule=LEAN, troubles=troubles)
    store = Store(tmp_path / "store.sqlite3")
    try:
        assert into_store(simulator, store, FIRST, 5, [load_policy("ministry")], raw_days=0) > 12 * 5
        assert store.count() == 0 and not store.roll_up()
        judged = {day for _, day in store.daily_verdicts("ministry")}
        assert judged == {(FIRST + timedelta(days=offset)).isoformat() for offset in range(5)}
    finally:
        store.close()
