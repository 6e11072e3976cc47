from datetime import date, datetime, timezone

import pytest

from core.examples import LinkQuality, example_measurements
from core.measurement import Kind
from core.norms import ProbeMerge, load_policy
from core.verdict import Period, Status, evaluate, summarise
from tests.helpers.cli import FIXTURES, run_cli

WEEK = Period(date(2026, 11, 23), date(2026, 11, 28))
MONDAY = date(2026, 11, 23)


def week_of(school, calendar, link, days=6, **kwargs):
    return example_measurements(school, link, calendar, MONDAY, days, **kwargs)


def test_a_rural_school_meets_the_rural_norm_but_fails_equal_norms(small_registry, calendar):
    school = small_registry["KZ-002"]                    # rural, 8 Mbit/s contract
    records = week_of(school, calendar, LinkQuality(7.5e6, 2e6, rtt_seconds=0.06))
    ministry = evaluate(school, records, load_policy("ministry"), calendar, WEEK)
    equal = evaluate(school, records, load_policy("equal-norms"), calendar, WEEK)
    assert ministry.status is Status.MEETS
    assert equal.status is Status.BELOW
    breached = {r.norm: r for r in equal.breaches}
    assert set(breached) == {"download", "upload"}
    assert breached["download"].threshold == 20e6
    assert 6.75e6 <= breached["download"].value <= 8.25e6
    assert breached["download"].statistic == "median"
    assert breached["download"].samples == 18          # 6 school days (6-day week) x 3 tests


def test_too_few_samples_is_no_data(small_registry, calendar):
    school = small_registry["KZ-002"]
    records = week_of(school, calendar, LinkQuality(7.5e6, 2e6), days=1)      # 3 throughput tests
    verdict = evaluate(school, records, load_policy("ministry"), calendar, WEEK)
    assert verdict.status is Status.NO_DATA
    download = next(r for r in verdict.results if r.norm == "download")
    assert (download.status, download.value, download.samples) == (Status.NO_DATA, None, 3)


def test_a_breach_outweighs_missing_data(small_registry, calendar):
    school = small_registry["KZ-002"]
    records = [m for m in week_of(school, calendar, LinkQuality(7.5e6, 2e6, loss_ratio=0.2))
               if m.kind is Kind.LATENCY]
    verdict = evaluate(school, records, load_policy("ministry"), calendar, WEEK)
    assert verdict.status is Status.BELOW
    assert {r.norm for r in verdict.breaches} == {"loss"}


def test_one_figure_never_mixes_servers(small_registry, calendar):
    school = small_registry["KZ-002"]
    main = [m for m in week_of(school, calendar, LinkQuality(5e6, 1e6)) if m.kind is Kind.DOWNLOAD]
    other = [m.model_copy(update={"target": "ndt7-2.example.kz", "values": {"throughput_bps": 30e6}})
             for m in week_of(school, calendar, LinkQuality(30e6, 1e6), days=2, seed=5) if m.kind is Kind.DOWNLOAD]
    verdict = evaluate(school, main + other, load_policy("equal-norms"), calendar, WEEK)
    download = next(r for r in verdict.results if r.norm == "download")
    assert download.series == "ndt7 @ ndt7.example.kz"
    assert (download.samples, download.left_out) == (18, 6)
    assert download.value < 6e6


def test_best_probe_wins_unless_the_policy_pools(small_registry, calendar, tmp_path):
    school = small_registry["KZ-001"]
    wired = week_of(school, calendar, LinkQuality(45e6, 10e6), days=5, probe_id="wired")
    wifi = week_of(school, calendar, LinkQuality(6e6, 2e6), days=5, probe_id="wifi", throughput_per_day=6)
    best = evaluate(school, wired + wifi, load_policy("ministry"), calendar, WEEK)
    assert next(r for r in best.results if r.norm == "download").value > 40e6
    pooled_policy = load_policy("ministry").model_copy(
        update={"verdict": load_policy("ministry").verdict.model_copy(update={"merge_probes": ProbeMerge.POOL})})
    pooled = evaluate(school, wired + wifi, pooled_policy, calendar, WEEK)
    download = next(r for r in pooled.results if r.norm == "download")
    assert download.value < 10e6 and download.samples == 45


def test_results_with_an_unknown_or_far_clock_do_not_count(small_registry, calendar):
    school = small_registry["KZ-002"]
    records = week_of(school, calendar, LinkQuality(7.5e6, 2e6))
    unknown = [m.model_copy(update={"clock_offset_seconds": None}) for m in records]
    far = [m.model_copy(update={"clock_offset_seconds": 3600.0}) for m in records]
    for variant in (unknown, far):
        verdict = evaluate(school, variant, load_policy("ministry"), calendar, WEEK)
        assert verdict.status is Status.NO_DATA
        assert all(r.samples == 0 for r in verdict.results)


def test_results_outside_school_hours_do_not_count(small_registry, calendar):
    school = small_registry["KZ-002"]
    records = week_of(school, calendar, LinkQuality(7.5e6, 2e6))
    night = [m.model_copy(update={"start": m.start.replace(hour=18), "end": m.end.replace(hour=18)})
             for m in records]          # 18:00 UTC is 23:00 in Almaty
    assert evaluate(school, night, load_policy("ministry"), calendar, WEEK).status is Status.NO_DATA


def test_availability_counts_trains_without_any_reply(small_registry, calendar):
    school = small_registry["KZ-002"]
    records = week_of(school, calendar, LinkQuality(7.5e6, 2e6))
    latency = [m for m in records if m.kind is Kind.LATENCY]
    down = {m.measurement_id for m in latency[: len(latency) // 10]}       # 10 % of trains lost
    records = [m.model_copy(update={"values": {**m.values, "loss_ratio": 1.0}}) if m.measurement_id in down else m
               for m in records]
    verdict = evaluate(school, records, load_policy("ministry"), calendar, WEEK)
    availability = next(r for r in verdict.results if r.norm == "availability")
    assert availability.status is Status.BELOW
    assert availability.value == pytest.approx(0.9, abs=0.01)


def test_giga_holds_big_schools_to_50_kbit_per_student_of_the_busiest_shift(small_registry, calendar):
    school = small_registry["KZ-001"]            # 2,400 students, 1,300 in the busiest shift
    records = week_of(school, calendar, LinkQuality(50e6, 10e6), days=5)
    verdict = evaluate(school, records, load_policy("giga-2030"), calendar, WEEK)
    per_student = next(r for r in verdict.results if r.norm == "per_student")
    assert verdict.status is Status.BELOW
    assert per_student.value == pytest.approx(50e6 / 1300, rel=0.1)
    assert per_student.threshold == 50e3
    small = small_registry["KZ-002"]             # 320 students: the per-student rule does not apply
    small_verdict = evaluate(small, week_of(small, calendar, LinkQuality(25e6, 5e6)), load_policy("giga-2030"),
                             calendar, WEEK)
    assert [r.norm for r in small_verdict.results] == ["download"]


def test_statistics():
    assert summarise([1, 2, 3, 4], "median") == 2.5
    assert summarise([1, 2, 3, 4], "mean") == 2.5
    assert summarise(list(range(101)), "p95") == 95
    assert summarise([5.0], "p95") == 5.0


def test_the_period_is_in_almaty_local_dates_even_on_a_utc_host(small_registry, calendar, tmp_path):
    school = small_registry["KZ-002"]
    records = week_of(school, calendar, LinkQuality(7.5e6, 2e6))
    # A night test at 20:30 UTC on Sunday 22 November is 01:30 on Monday 23 November in Almaty.
    night = records[0].model_copy(update={"start": datetime(2026, 11, 22, 20, 30, tzinfo=timezone.utc),
                                          "end": datetime(2026, 11, 22, 20, 30, 10, tzinfo=timezone.utc)})
    from core.measurement import write_measurements

    write_measurements(tmp_path / "m.jsonl", [night, *records[1:]])
    result = run_cli("norms", "check", "--registry", FIXTURES / "registry" / "valid.csv",
                     "--measurements", tmp_path / "m.jsonl", "--policy", "ministry", env={"TZ": "UTC"})
    assert result.returncode == 0, result.stderr
    assert "Verdicts over 2026-11-23..2026-11-28" in result.stdout
    assert "KZ-002" in result.stdout and "meets" in result.stdout
