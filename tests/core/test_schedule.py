import pytest

from core.measurement import Kind
from core.schedule import Schedule, records_per_school_day, school_hours_seconds
from tests.helpers.cli import run_cli


def test_a_two_shift_school_day(small_registry):
    school = small_registry["KZ-001"]                     # 08:00-13:20 and 13:30-18:50
    hours = school_hours_seconds(school)
    assert hours == 10 * 3600 + 50 * 60
    records = records_per_school_day(hours)
    assert records[Kind.LATENCY] == pytest.approx(hours / 300)
    assert records[Kind.HTTP] == pytest.approx(hours / 900 * 5)
    assert records[Kind.DOWNLOAD] == records[Kind.UPLOAD] == 4
    assert sum(records.values()) == pytest.approx(130 + 2 * 216.67 + 8, abs=0.1)


def test_the_schedule_drives_the_volume():
    sparse = Schedule(latency_interval_seconds=600, platforms=("kundelik.kz",), night_throughput_tests=0)
    records = records_per_school_day(6000, sparse)
    assert records[Kind.LATENCY] == 10 and records[Kind.DNS] == pytest.approx(6000 / 900)
    assert records[Kind.DOWNLOAD] == 3


def test_registry_summary_prints_totals_and_expected_records(tmp_path):
    out = tmp_path / "r.csv"
    assert run_cli("registry", "generate", "--schools", 300, "--seed", 2, "--out", out).returncode == 0
    result = run_cli("registry", "summary", out)
    assert result.returncode == 0, result.stderr
    assert "SYNTHETIC" in result.stdout and "Turkistan" in result.stdout
    assert "Expected records per school day" in result.stdout
    as_json = run_cli("registry", "summary", out, "--json")
    import json

    data = json.loads(as_json.stdout)
    assert data["country"]["schools"] == 300
    per_day = data["records_per_school_day"]
    assert per_day["download"] == per_day["upload"] == 300 * 4
    assert data["country"]["records_per_day"] == pytest.approx(sum(per_day.values()))
    russian = run_cli("registry", "summary", out, "--lang", "ru")
    assert "Туркестанская область" in russian.stdout
