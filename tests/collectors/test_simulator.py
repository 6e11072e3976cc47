"""The fleet simulator: repeatable, shaped like the fleet, labelled synthetic, into a store or through the API."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, timedelta

from collectors.fleet_upload import into_store, via_api
from collectors.settings import CollectorSettings
from collectors.simulator import LEAN, FleetSimulator, Troubles
from collectors.store import Store
from core.measurement import Kind
from core.norms import load_policy
from core.synthetic import generate_registry
from core.verdict import Period
from tests.helpers.cli import run_cli
from tests.helpers.collector import collector_thread

WEEK = date(2026, 11, 16)          # Monday to Sunday


def test_the_same_seed_gives_the_same_records_and_another_does_not(calendar):
    registry = generate_registry(20, seed=5)
    first = [m.measurement_id for records in FleetSimulator(registry, calendar, seed=1).days(WEEK, 2) for m in records]
    again = [m.measurement_id for records in FleetSimulator(registry, calendar, seed=1).days(WEEK, 2) for m in records]
    other = [m.measurement_id for records in FleetSimulator(registry, calendar, seed=2).days(WEEK, 2) for m in records]
    assert first == again and set(first).isdisjoint(other) and len(first) > 1000


def test_the_fleet_is_shaped_like_the_country(calendar):
    registry = generate_registry(600, seed=7)
    simulator = FleetSimulator(registry, calendar, seed=1)
    share = {"urban": [], "rural": []}
    daytime, night, satellite_rtts = [], [], []
    for records in simulator.days(WEEK, 1):
        school = registry[records[0].school_id]
        downloads = [m for m in records if m.kind is Kind.DOWNLOAD]
        for m in downloads:
            hour = m.start.astimezone(calendar_zone()).hour
            (night if hour < 6 else daytime).append(m.values["throughput_bps"] / school.contracted_bps)
            share[school.locality.value].append(m.values["throughput_bps"] / school.contracted_bps)
        if "satellite" in school.isp.lower():
            satellite_rtts += [m.values["rtt_median_seconds"] for m in records if m.kind is Kind.LATENCY]
        assert all(m.probe_version == "synthetic" and m.attributes["synthetic"] == "true" for m in records)
    assert statistics.median(share["rural"]) < statistics.median(share["urban"])
    assert statistics.median(night) > statistics.median(daytime)          # the school's own traffic by day
    assert satellite_rtts and min(satellite_rtts) > 0.5
    assert 0.01 <= len(simulator.silent) / len(registry) <= 0.06
    assert not any(simulator.day(registry[s], WEEK) for s in simulator.silent)


def test_troubles_show_up_as_quarantine_and_silence(calendar):
    registry = generate_registry(200, seed=2)
    simulator = FleetSimulator(registry, calendar, seed=3, troubles=Troubles(silent=0.1, unknown_clock=0.2,
                                                                              skewed_clock=0.0, outage_day=0.0))
    offsets = {m.school_id: m.clock_offset_seconds for records in simulator.days(WEEK, 1) for m in records}
    unknown = [school for school, offset in offsets.items() if offset is None]
    assert 0.1 * len(offsets) <= len(unknown) <= 0.3 * len(offsets)
    assert len(offsets) == len(registry) - len(simulator.silent)


def calendar_zone():
    from core.timezone import almaty

    return almaty()


def test_the_command_writes_a_store_and_rolls_it_up(tmp_path):
    registry = tmp_path / "registry.csv"
    assert run_cli("registry", "generate", "--schools", 8, "--seed", 4, "--out", registry).returncode == 0
    result = run_cli("simulate", "fleet", "--registry", registry, "--days", 2, "--first", "2026-11-16",
                     "--db", tmp_path / "store.sqlite3", "--lean")
    assert result.returncode == 0, result.stderr
    written = int(result.stdout.split("wrote ")[1].split(" ")[0].replace(",", ""))
    store = Store(tmp_path / "store.sqlite3")
    try:
        assert store.count() == written > 0
        school_id, _ = next(iter(store.latest()))
        assert store.daily(school_id)                                  # roll-ups were made
        assert store.daily_verdicts("ministry") and len(store.school_table()) == 8        # and days judged
    finally:
        store.close()
    refused = run_cli("simulate", "fleet", "--registry", registry, "--days", 0, "--db", tmp_path / "x.sqlite3")
    assert refused.returncode == 2 and "--days" in refused.stderr
    result = run_cli("simulate", "fleet", "--registry", registry, "--days", 3, "--first", "2026-11-16",
                     "--db", tmp_path / "rolled.sqlite3", "--lean", "--raw-days", 1, "--workers", 2)
    assert result.returncode == 0 and "raw rows for the last 1 days" in result.stdout, result.stderr
    store = Store(tmp_path / "rolled.sqlite3")
    try:
        assert 0 < store.count() < int(result.stdout.split("wrote ")[1].split(" ")[0].replace(",", ""))
        assert {day for _, day in store.daily_verdicts("ministry")} >= {"2026-11-16", "2026-11-17", "2026-11-18"}
    finally:
        store.close()
    refused = run_cli("simulate", "fleet", "--registry", registry, "--days", 2, "--raw-days", -1, "--db",
                      tmp_path / "x.sqlite3")
    assert refused.returncode == 2 and "--raw-days" in refused.stderr and "Traceback" not in refused.stderr
    refused = run_cli("simulate", "fleet", "--registry", registry, "--days", 2, "--workers", 0, "--db",
                      tmp_path / "x.sqlite3")
    assert refused.returncode == 2 and "--workers" in refused.stderr and "Traceback" not in refused.stderr


def test_through_the_api_every_record_is_acknowledged_once(tmp_path, calendar):
    registry_file = tmp_path / "registry.csv"
    run_cli("registry", "generate", "--schools", 6, "--seed", 9, "--out", registry_file)
    from core.registry import load_registry

    registry = load_registry(registry_file)
    db = tmp_path / "collector.sqlite3"
    simulator = FleetSimulator(registry, calendar, seed=1, troubles=Troubles(silent=0.0, outage_day=0.0))
    generated = sum(len(records) for records in simulator.days(WEEK, 1))
    with collector_thread(CollectorSettings(db=db, registry=registry_file)) as url:
        report = via_api(simulator, url, str(db), WEEK, 1, concurrency=4)
    assert report.records == {"accepted": generated, "duplicate": 0, "rejected": 0}
    assert len(report.latencies) >= len(registry) and report.percentile(0.99) > 0
    store = Store(db)
    try:
        assert store.count() == generated
    finally:
        store.close()


def test_a_simulated_week_is_judged_like_a_live_one_for_every_school_day_and_policy(store_url, calendar):
    registry = generate_registry(30, seed=11)
    simulator = FleetSimulator(registry, calendar, seed=2, schedule=LEAN, troubles=Troubles(silent=0.0, outage_day=0.0))
    policies = [load_policy("ministry"), load_policy("giga-2030")]
    store = Store(store_url)
    try:
        assert into_store(simulator, store, WEEK, 7, policies) > 30 * 7
        school_days = {(school.school_id, (WEEK + timedelta(days=offset)).isoformat()) for school in registry
                       for offset in range(7) if calendar.is_school_day(WEEK + timedelta(days=offset), school.week_days)}
        assert len(school_days) >= 30 * 5
        for policy in policies:
            verdicts = store.daily_verdicts(policy.name)
            assert school_days <= set(verdicts)
            on_school_days = Counter(verdicts[key] for key in school_days)
            assert on_school_days["meets"] + on_school_days["below"] > len(school_days) / 2, on_school_days
        assert list(store.school_table()["school_id"]) == sorted(school.school_id for school in registry)
        compliance = store._read("SELECT count(*), count(region) FROM daily_compliance")[0]
        assert compliance[0] == compliance[1] == sum(len(store.daily_verdicts(p.name)) for p in policies)
        assert len(store.day_verdicts("ministry", Period(WEEK, WEEK + timedelta(days=6)))) == len(
            store.daily_verdicts("ministry"))
    finally:
        store.close()


def test_a_sketched_day_holds_the_same_results_as_the_day_itself(calendar):
    registry = generate_registry(40, seed=6)
    simulator = FleetSimulator(registry, calendar, seed=3, troubles=Troubles(unknown_clock=0.1, skewed_clock=0.1))
    whole = {Kind.DOWNLOAD, Kind.LATENCY}
    compared = 0
    for school in registry:
        records, sketched = simulator.day(school, WEEK), simulator.sketched_day(school, WEEK, whole)
        assert [(m.kind, m.end, m.clock_offset_seconds, m.values, m.error) for m in records] == [
            (s.kind, s.end, s.clock_offset_seconds, s.values, s.error) for s in sketched]
        for m, s in zip(records, sketched):
            assert (s.kind in whole) == isinstance(s, type(m))
            if s.kind in whole:
                assert s.model_dump() == m.model_dump() | {"start": s.start, "end": s.end}
        compared += len(records)
    assert compared > 40 * 20
