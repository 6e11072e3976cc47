"""`mektepnet loadtest readiness` against the real platform simulator, judged by the declared truth (loadtests/truth.py)."""

import os
import subprocess
import sys

import pytest
import yaml

from loadtests.profile import READINESS_PROFILE, load_profile
from loadtests.readiness import Readiness, StepStatus, Verdict
from loadtests.slo import parse_slo
from loadtests.truth import true_readiness
from tests.helpers.cli import FIXTURES, ROOT, run_cli
from tests.helpers.platformsim import platform_sim

PROFILES = FIXTURES / "loadtests"
FIXTURE = READINESS_PROFILE
# The SLO each declared capacity is judged by (docs/readiness.md).
SLOS = {"api": "p95<800ms,errors<1%", "tutor": "p95<300ms,errors<1%", "kundelik": "p95<500ms,errors<1%"}
TRUTH_SEEDS = (1, 2, 3)


def _truth(platform: str) -> float:
    """The median over seeds of the declared model's true readiness (requests/s)."""
    profile, slo = load_profile(FIXTURE), parse_slo(SLOS[platform])
    found = sorted(true_readiness(profile, platform, slo, seed=seed).requests_per_second for seed in TRUTH_SEEDS)
    return found[len(found) // 2]


def _compressed(tmp_path, platform: str, source=FIXTURE):
    """A profile with short think and click times: the same capacities and mix (so the same truth in
    requests/s), fewer students and shorter session cycles, so each step warms up in seconds."""
    document = yaml.safe_load(source.read_text())
    declared = document["platforms"][platform]
    declared["think_seconds"] = min(declared["think_seconds"], 1.0)
    if "quick_seconds" in declared:
        declared["quick_seconds"] = 0.2
    path = tmp_path / "compressed.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _readiness(tmp_path, profile, platform, *args, timeout=120):
    """Run the command against a simulator of the profile on a free port; (completed process, result or None)."""
    run_dir = tmp_path / "run"
    with platform_sim(profile) as url:
        command = [sys.executable, "-m", "cli", "loadtest", "readiness", "--platform", platform, "--profile",
                   str(profile), "--host", url, "--run-dir", str(run_dir), *map(str, args)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                                env={**os.environ, "COLUMNS": "200"})
    file = run_dir / "readiness.json"
    return result, Readiness.model_validate_json(file.read_text()) if file.exists() else None


@pytest.mark.parametrize("platform", ["api", "tutor", "kundelik"])
def test_a_time_compressed_search_finds_each_declared_capacity_within_10_percent_of_the_truth(tmp_path, platform):
    truth = _truth(platform)
    profile = FIXTURE if platform == "api" else _compressed(tmp_path, platform)
    result, found = _readiness(tmp_path, profile, platform, "--slo", SLOS[platform], "--budget", "90s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert found.verdict is Verdict.KNEE
    assert abs(found.requests_per_second - truth) <= 0.10 * truth, (found.requests_per_second, truth)
    assert found.interval_low_rps <= found.requests_per_second <= found.interval_high_rps
    # The curve: a step within the SLO below the readiness and one broken above it, the generator in bounds in both.
    met = [s for s in found.steps if s.status is StepStatus.MET and s.intended_rps <= found.requests_per_second]
    broken = [s for s in found.steps if s.status is StepStatus.BROKEN and s.intended_rps >= found.requests_per_second]
    assert met and broken
    assert found.students_in_session > 0 and 0 < found.share_of_first_bell_peak < 1


@pytest.mark.full
@pytest.mark.parametrize("platform", ["api", "tutor", "kundelik"])
def test_full_length_searches_over_ten_seeds_are_within_10_percent_and_their_intervals_hold_the_truth(tmp_path, platform):
    truth = _truth(platform)
    contained = 0
    for seed in range(1, 11):
        result, found = _readiness(tmp_path / f"seed-{seed}", FIXTURE, platform, "--slo", SLOS[platform],
                                   "--budget", "5m", "--seed", seed, timeout=420)
        assert result.returncode == 0, result.stdout + result.stderr
        assert abs(found.requests_per_second - truth) <= 0.10 * truth, (seed, found.requests_per_second, truth)
        contained += found.interval_low_rps <= truth <= found.interval_high_rps
    assert contained >= 9


def test_a_platform_broken_at_the_lowest_step_is_reported_so_not_as_a_knee_of_0(tmp_path):
    # Logins take 0.3 s: a p95 of 100 ms is broken at any rate.
    profile = _compressed(tmp_path, "tutor", PROFILES / "slow_login.yaml")
    result, found = _readiness(tmp_path, profile, "tutor", "--slo", "p95<100ms,errors<1%",
                               "--start-rps", 2, "--lowest-rps", 1, "--hold", 4, "--budget", "90s")
    assert result.returncode == 3, result.stdout + result.stderr
    assert found.verdict is Verdict.BROKEN_AT_LOWEST and found.requests_per_second == 0
    assert [step.intended_rps for step in found.steps] == [2, 1]
    assert all(step.status is StepStatus.BROKEN for step in found.steps)
    assert "broken already at the lowest step" in result.stdout


def test_a_starved_generator_is_reported_as_generator_bound_not_as_the_platform_s_readiness(tmp_path):
    # One sender per process cannot keep 200 requests/s of 20 ms requests going: the lag grows, not the platform's queue.
    result, found = _readiness(tmp_path, FIXTURE, "api", "--slo", SLOS["api"], "--start-rps", 200,
                               "--users-per-worker", 1, "--hold", 4, "--budget", "60s")
    assert result.returncode == 4, result.stdout + result.stderr
    assert found.verdict is Verdict.GENERATOR_BOUND
    # Run once more at the same rate (a busy machine's hiccup passes), then the search ends.
    assert [step.intended_rps for step in found.steps] == [200, 200]
    assert all(step.status is StepStatus.GENERATOR_BOUND for step in found.steps)
    assert all(step.lag_p99_seconds > 0.08 or step.sent_ratio < 0.97 for step in found.steps)
    assert "generator-bound" in result.stdout
    metrics = (tmp_path / "run" / "readiness.prom").read_text()
    assert 'mektepnet_readiness_verdict{platform="api",verdict="generator-bound"} 1.0' in metrics
    assert 'mektepnet_readiness_verdict{platform="api",verdict="knee"} 0.0' in metrics
    assert (tmp_path / "run" / "readiness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_national_capacity_plan_gives_each_platform_a_verdict_and_the_generator_fleet(tmp_path):
    stated = Readiness(platform="kundelik", kind="ediary", profile="readiness truth", slo=SLOS["kundelik"],
                       verdict=Verdict.KNEE, requests_per_second=339.0, interval_low_rps=320.0,
                       interval_high_rps=360.0, sessions_per_second=66.5, students_in_session=701,
                       session_seconds=7.5, think_seconds=3, p95_at_readiness_seconds=0.15, first_bell_peak_rps=0,
                       share_of_first_bell_peak=0, max_rps=1250, budget_seconds=300, elapsed_seconds=280, seed=1,
                       reason="stated", steps=[])
    (tmp_path / "kundelik.json").write_text(stated.model_dump_json())
    result = run_cli("loadtest", "plan", "--shape", "first-bell", "--scale", 1, "--profile", FIXTURE,
                     "--readiness", tmp_path / "kundelik.json", "--ready-rps", "api=5000000")
    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 8}
    assert "short by ×" in lines["kundelik"] and "08:45-09:00" in lines["kundelik"]
    assert "ready, ×" in lines["api"] and "headroom" in lines["api"]
    assert "no readiness given" in lines["tutor"]
    assert "load generators to rehearse the peak" in result.stdout and "a run this size is refused" in result.stdout


@pytest.mark.parametrize("args, option", [
    (("--platform", "api", "--slo", "p95<fast"), "--slo"),
    (("--platform", "api", "--slo", "p97<1s"), "--slo"),
    (("--platform", "api", "--slo", "errors<101%"), "--slo"),
    (("--platform", "nope"), "--platform"),
    (("--platform", "api", "--budget", "6s"), "--budget"),
    (("--platform", "api", "--budget", "soon"), "--budget"),
    (("--platform", "api", "--host", "http://10.1.2.3:80"), "--host"),
    (("--platform", "api", "--start-rps", "1e9"), "--start-rps"),
])
def test_bad_input_exits_2_naming_the_option_before_any_traffic(tmp_path, args, option):
    result = run_cli("loadtest", "readiness", "--profile", FIXTURE, "--run-dir", tmp_path / "run", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_plan_refuses_a_stated_readiness_it_cannot_read():
    result = run_cli("loadtest", "plan", "--scale", 1, "--profile", FIXTURE, "--ready-rps", "kundelik")
    assert result.returncode == 2 and "--ready-rps" in result.stderr
    assert result.stdout == ""
