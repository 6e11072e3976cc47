"""A real Locust master and two workers against the platform simulator, scraped by a real Prometheus."""

import json
import subprocess
import sys
import time

import pytest

from tests.helpers.cli import ROOT
from tests.helpers.platformsim import platform_sim, sim_counter
from tests.helpers.ports import free_port
from tests.helpers.prometheus import prometheus

STUDENTS = 400
REQUEST_BUCKETS = (0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _value(prom, promql: str) -> float:
    result = prom.query(promql)
    assert result, f"no result for {promql}"
    return float(result[0]["value"][1])


def _bucket_of(seconds: float) -> tuple[float, float]:
    for low, high in zip(REQUEST_BUCKETS, REQUEST_BUCKETS[1:]):
        if seconds <= high:
            return low, high
    return REQUEST_BUCKETS[-1], float("inf")


def test_a_master_and_two_workers_serve_merged_metrics_that_promql_reads(tmp_path):
    metrics_port = free_port()
    with platform_sim() as url, prometheus(tmp_path, [f"127.0.0.1:{metrics_port}"]) as prom:
        run = subprocess.Popen(
            [sys.executable, "-m", "cli", "loadtest", "run", "--headless", "--json", "--host", url, "--workers", "2",
             "--students", str(STUDENTS), "--shape", "first-bell", "--duration", "45s", "--metrics-port",
             str(metrics_port), "--master-port", str(free_port()), "--run-dir", str(tmp_path / "run")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            prom.wait_for("mektepnet_loadtest_workers == 2", 40)
            prom.wait_for("sum(mektepnet_loadtest_sent_requests_total) > 300", 60)
            # Both workers' shares of the students reached the master.
            assert _value(prom, 'mektepnet_loadtest_students{state="planned"}') == STUDENTS
            # One scrape holds the histogram and the outcome counters: their totals agree exactly.
            assert _value(prom, "sum(mektepnet_loadtest_request_duration_seconds_count)") == pytest.approx(
                _value(prom, "sum(mektepnet_loadtest_requests_total)"), abs=0.5)
            # The platform is far from saturated: the achieved rate keeps up with the intended one.
            achieved = _value(prom, "sum(rate(mektepnet_loadtest_sent_requests_total[15s]))")
            intended = _value(prom, "sum(rate(mektepnet_loadtest_intended_requests_total[15s]))")
            assert achieved == pytest.approx(intended, rel=0.15)
            lag_p99 = _value(prom, "histogram_quantile(0.99, sum by (le) (rate(mektepnet_loadtest_generator_lag_seconds_bucket[30s])))")
            assert lag_p99 <= 0.1
            output, errors = run.communicate(timeout=120)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        assert run.returncode == 0, errors + output
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        served = sim_counter(url, "ok")
        time.sleep(2)
        final = "sum(last_over_time(mektepnet_loadtest_requests_total[5m]))"
        assert _value(prom, final) == pytest.approx(summary["requests"], rel=0.1)
        platforms = {item["metric"]["platform"] for item in
                     prom.query('last_over_time(mektepnet_loadtest_requests_total{outcome="ok"}[5m])')}
        assert platforms == {"kundelik", "bilimland", "daryn", "tutor"}
        schedule = next(e for e in summary["entries"] if e["platform"] == "kundelik" and e["endpoint"] == "schedule")
        p50 = _value(prom, 'histogram_quantile(0.5, sum by (le) (last_over_time(mektepnet_loadtest_request_duration_seconds_bucket{platform="kundelik",endpoint="schedule"}[5m])))')
        low, high = _bucket_of(schedule["p50_ms"] / 1000)
        assert low <= p50 <= high, (p50, schedule["p50_ms"])
        segments = next(e for e in summary["entries"] if e["endpoint"] == "segment")
        segment_bytes = _value(prom, 'sum(last_over_time(mektepnet_loadtest_response_bytes_total{endpoint="segment"}[5m]))')
        assert segment_bytes == pytest.approx(segments["bytes"], rel=0.15) and segment_bytes > 0
    # What the workers sent, the simulator answered (but those in flight when the run stopped).
    assert served == pytest.approx(summary["requests"], abs=20)
    assert summary["failures"] == 0 and summary["students"] == STUDENTS


def test_a_worker_joining_from_another_machine_gets_the_plan_from_the_master(tmp_path):
    """The runbook's path: the master waits for a remote worker; `loadtest worker` knows only where the master is."""
    master_port = free_port()
    with platform_sim() as url:
        worker = subprocess.Popen([sys.executable, "-m", "cli", "loadtest", "worker", "--master-host", "127.0.0.1",
                                   "--master-port", str(master_port), "--processes", "1"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            run = subprocess.run(
                [sys.executable, "-m", "cli", "loadtest", "run", "--headless", "--json", "--host", url, "--workers", "0",
                 "--remote-workers", "1", "--students", "60", "--shape", "steady", "--ramp", "2", "--kind", "ediary",
                 "--duration", "15s", "--metrics-port", "0", "--master-port", str(master_port),
                 "--run-dir", str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True, timeout=180)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        served = sim_counter(url, "ok")
    assert run.returncode == 0, run.stderr + run.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["students_planned"] == 60 and summary["requests"] > 60
    assert {e["platform"] for e in summary["entries"]} == {"kundelik"}
    assert served == pytest.approx(summary["requests"], abs=10)


def test_plain_locust_master_and_workers_share_the_students_and_the_run_time(tmp_path):
    """`locust --master` and `--worker` by hand: the workers learn their count and the shape's duration from the master."""
    master_port, summary = free_port(), tmp_path / "summary.json"
    locustfile = str(ROOT / "loadtests" / "locustfiles" / "ediary.py")
    with platform_sim() as url:
        workers = [subprocess.Popen([sys.executable, "-m", "locust", "-f", locustfile, "--worker", "--master-port",
                                     str(master_port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        try:
            master = subprocess.run(
                [sys.executable, "-m", "locust", "-f", locustfile, "--master", "--master-bind-port", str(master_port),
                 "--expect-workers", "2", "--headless", "-u", "20", "-r", "20", "-t", "12s", "-H", url,
                 "--mektep-students", "100", "--mektep-shape", "steady", "--mektep-ramp", "2",
                 "--mektep-summary", str(summary)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        finally:
            for worker in workers:
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
    assert master.returncode == 0, master.stderr[-2000:]
    result = json.loads(summary.read_text())
    assert result["students_planned"] == 100 and result["duration_seconds"] == 12
    assert result["requests"] > 100 and {e["platform"] for e in result["entries"]} == {"kundelik"}
