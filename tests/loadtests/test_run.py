"""Real Locust runs (`mektepnet loadtest run`) against the real platform simulator on loopback."""

import json

import pytest

from loadtests.summary import StopBound, Summary
from tests.helpers.cli import FIXTURES, run_cli
from tests.helpers.platformsim import platform_sim, sim_counter
from tests.helpers.ports import free_port

PROFILES = FIXTURES / "loadtests"


def _run(tmp_path, url, *args):
    result = run_cli("loadtest", "run", "--headless", "--host", url, "--run-dir", tmp_path / "run",
                     "--metrics-port", free_port(), "--master-port", free_port(), "--json", *args)
    summary_file = tmp_path / "run" / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    return result, summary


def _entry(summary, platform, endpoint):
    return next(e for e in summary["entries"] if e["platform"] == platform and e["endpoint"] == endpoint)


def test_latency_counts_from_the_intended_send_time_so_a_saturated_generator_cannot_hide_queueing(tmp_path):
    """20 logins due within 0.6 s, two senders, 0.3 s each: the last is answered ~2.4 s after it was due."""
    with platform_sim(PROFILES / "slow_login.yaml") as url:
        result, summary = _run(tmp_path, url, "--profile", PROFILES / "slow_login.yaml", "--shape", "new-platform",
                               "--students", 20, "--duration", "20s", "--workers", 0, "--users-per-worker", 2)
        served = sim_counter(url, "ok", "login")
    assert result.returncode == 0, result.stderr + result.stdout
    login = _entry(summary, "tutor", "login")
    assert login["requests"] == served >= 20 and login["failures"] == 0
    assert login["p95_ms"] >= 1800 and login["max_ms"] >= 2000   # a send-time clock would say ~300 ms
    assert summary["lag_p99_seconds"] >= 1.0                      # and the generator admits it was late
    assert summary["intended"] >= 20 and summary["sent"] >= 20
    assert summary["stop"]["bound"] == "duration" and summary["stop"]["limit"] == 20


def test_the_stop_bounds_end_a_run_whose_errors_break_them(tmp_path):
    with platform_sim(PROFILES / "tiny_capacity.yaml") as url:
        result, summary = _run(tmp_path, url, "--profile", PROFILES / "tiny_capacity.yaml", "--shape", "new-platform",
                               "--students", 200, "--duration", "60s", "--workers", 0)
    assert result.returncode == 3, result.stderr + result.stdout
    stop = summary["stop"]
    assert stop["bound"] == "error_ratio" and stop["at_second"] < 60        # before the run's 60 s
    outcomes = {e["outcome"] for e in summary["errors"]}
    assert "http_503" in outcomes
    # The stop is structured: the ratio that broke the profile's bound (0.3 over 4 s), when, and the load then.
    assert stop["value"] > stop["limit"] == 0.3 and stop["window_seconds"] == 4
    assert 0 < stop["at_second"] <= summary["elapsed_seconds"] + 1
    assert stop["arrival_rate_per_second"] > 0 and stop["request_rate_per_second"] > 0
    assert 0 < stop["in_session"] <= 200
    # The file reads back as the typed summary, and the --json output is the same document.
    parsed = Summary.model_validate_json((tmp_path / "run" / "summary.json").read_text())
    assert parsed.stop.bound is StopBound.ERROR_RATIO and parsed.stop.broke_a_bound
    assert Summary.model_validate_json(result.stdout[result.stdout.index("\n{") + 1:]) == parsed


@pytest.mark.parametrize("args, message", [
    (("--duration", "2s"), "--duration"),
    (("--shape", "lunch"), "--shape"),
    (("--workers", "-1"), "--workers"),
    (("--kind", "radio"), "--kind"),
    (("--students", "0"), "--students"),
    (("--profile", PROFILES / "missing_endpoint.yaml"), "missing_endpoint.yaml"),
])
def test_bad_options_exit_2_naming_the_option_before_anything_starts(tmp_path, args, message):
    result = run_cli("loadtest", "run", "--headless", "--run-dir", tmp_path / "run", *args)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_plan_over_the_rate_cap_is_refused(tmp_path):
    result = run_cli("loadtest", "run", "--headless", "--run-dir", tmp_path / "run", "--shape", "new-platform",
                     "--students", 3_000_000, "--duration", "10m")
    assert result.returncode == 2 and "max_requests_per_second" in result.stderr
    assert not (tmp_path / "run").exists()


def test_plan_shows_the_curve_and_regions_without_sending(tmp_path):
    result = run_cli("loadtest", "plan", "--shape", "second-shift", "--scale", "0.001", "--duration", "20m")
    assert result.returncode == 0, result.stderr
    assert "second shift" in result.stdout and "Turkistan" in result.stdout and "req/s" in result.stdout


def test_a_streamed_answer_reports_its_first_byte_apart_from_its_end(tmp_path):
    with platform_sim(PROFILES / "streaming_tutor.yaml") as url:
        result, summary = _run(tmp_path, url, "--profile", PROFILES / "streaming_tutor.yaml", "--shape", "steady",
                               "--students", 40, "--duration", "15s", "--ramp", 1, "--workers", 0)
    assert result.returncode == 0, result.stderr + result.stdout
    chat = _entry(summary, "tutor", "chat")
    first = summary["first_byte"]["tutor:chat"]
    assert chat["requests"] >= 20 and chat["p50_ms"] >= 1000
    assert first["count"] >= 20 and first["p50_seconds"] <= 0.25
    assert not any(e["endpoint"].endswith("first byte") for e in summary["entries"])
