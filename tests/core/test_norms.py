import pytest

from core.errors import CoreError
from core.norms import SHIPPED_POLICIES, load_policy
from tests.helpers.cli import FIXTURES, run_cli
from tests.helpers.tools import single_problem


def test_shipped_policies_load_in_base_units():
    ministry = load_policy("ministry")
    assert ministry.urban.download_min_bps == 20e6
    assert ministry.urban.download_min_bps / ministry.rural.download_min_bps >= 2.5   # "several times lower"
    assert ministry.urban.rtt_max_seconds == pytest.approx(0.1)
    assert ministry.rural.loss_max_ratio == 0.02
    giga = load_policy("giga-2030")
    assert {giga.urban.download_min_bps, giga.rural.download_min_bps, giga.ungraded.download_min_bps} == {20e6}
    assert (giga.per_student.min_bps, giga.per_student.above_students) == (50e3, 400)
    equal = load_policy("equal-norms")
    assert equal.urban == equal.rural == equal.ungraded == ministry.urban


def test_the_ministry_file_says_its_rural_figures_are_assumed():
    text = (FIXTURES.parent.parent / "core" / "data" / "policies" / "ministry.yaml").read_text()
    assert "NOT published" in text


@pytest.mark.parametrize("fixture, field, fragment", [
    ("download_in_mbit_without_unit.yaml", "urban.download_min_bps", "implausibly low"),
    ("rtt_in_milliseconds.yaml", "urban.rtt_max_seconds", "implausibly long"),
    ("loss_as_percent_number.yaml", "rural.loss_max_ratio", "not a ratio"),
    ("missing_category.yaml", "ungraded", "Field required"),
    ("unknown_threshold.yaml", "urban.dowload_min_bps", "Extra inputs are not permitted"),
])
def test_a_bad_policy_is_refused(fixture, field, fragment):
    problem = single_problem(load_policy, FIXTURES / "policy" / fixture)
    assert problem.field == field
    assert fragment in problem.message


def test_an_unknown_policy_name_is_refused():
    with pytest.raises(CoreError, match="neither a shipped policy"):
        load_policy("strict")


def test_norms_show_prints_every_shipped_policy():
    result = run_cli("norms", "show")
    assert result.returncode == 0
    for name in SHIPPED_POLICIES:
        assert name in result.stdout
    assert ">= 20 Mbit/s" in result.stdout and ">= 4 Mbit/s" in result.stdout and "<= 100 ms" in result.stdout


def test_norms_show_refuses_a_bad_policy_with_exit_2():
    result = run_cli("norms", "show", FIXTURES / "policy" / "rtt_in_milliseconds.yaml")
    assert result.returncode == 2
    assert "urban.rtt_max_seconds=100" in result.stderr


def test_a_day_level_policy_scales_the_weekly_sample_minimums_never_below_one():
    ministry = load_policy("ministry")
    one_day = ministry.over_school_days(1)
    assert (ministry.verdict.min_throughput_samples, ministry.verdict.min_latency_samples) == (5, 20)
    assert (one_day.verdict.min_throughput_samples, one_day.verdict.min_latency_samples) == (1, 4)
    assert one_day.urban == ministry.urban and one_day.verdict.download == ministry.verdict.download
    assert ministry.over_school_days(5) == ministry
    assert ministry.over_school_days(10).verdict.min_throughput_samples == 10
