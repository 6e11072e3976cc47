"""`mektepnet collector` and `mektepnet probe` end to end, as an operator and a school would run them."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from probes.config import load_config
from probes.identity import load_credentials, save_credentials
from tests.helpers.cli import ROOT, run_cli
from tests.helpers.collector import collector_process
from tests.helpers.ports import free_port
from tests.helpers.tools import require_tool

SERVED = {"jobs": [{"prober": "icmp", "targets": ["127.0.0.1"], "interval_seconds": 0.5, "hours": "always"}],
          "upload": {"interval_seconds": 0.5}}


@pytest.fixture
def collector(tmp_path):
    served = tmp_path / "served.yaml"
    served.write_text(yaml.safe_dump(SERVED))
    process, url = collector_process(tmp_path / "c.sqlite3", "--probe-config", str(served))
    yield url, tmp_path / "c.sqlite3", hashlib.sha256(served.read_bytes()).hexdigest()[:12]
    process.terminate()
    process.wait(10)


def probe_config(tmp_path, url, port) -> str:
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump({
        "collector": url, "school_id": "KZ-001", "state_dir": str(tmp_path / "state"),
        "metrics_address": f"127.0.0.1:{port}",
        "jobs": [{"prober": "dns", "targets": ["kundelik.kz"], "interval_seconds": 600, "hours": "always"}],
        "modules": {"icmp": {"method": "tcp-connect", "count": 2, "tcp_port": 9}, "dns": {"resolver": "127.0.0.1",
                                                                                   "port": 9, "timeout_seconds": 0.2}},
        "throughput": {"daytime_tests": 0, "night_tests": 0},
        "upload": {"interval_seconds": 0.5},
    }))
    return str(path)


def enroll(url, db, tmp_path, code=None):
    code = code or run_cli("collector", "enroll-code", "--school-id", "KZ-001", "--db", db).stdout.strip()
    return run_cli("probe", "enroll", "--collector", url, "--school-id", "KZ-001", "--enrollment-code", code,
                   "--state-dir", tmp_path / "state")


def test_enrol_run_fetch_the_served_configuration_and_report(collector, tmp_path):
    url, db, version = collector
    assert "enrolled as probe p-kz-001-" in enroll(url, db, tmp_path).stdout
    port = free_port()
    config = probe_config(tmp_path, url, port)
    agent = subprocess.Popen([sys.executable, "-m", "cli", "probe", "run", "--config", config], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    assert "uploading to " + url in out
    status = json.loads(run_cli("probe", "status", "--config", config, "--json").stdout)
    assert status["config_version"] == version, json.dumps(status)
    assert status["config_hash"] != load_config(config).digest()          # the served jobs replaced the file's
    kinds = {item["kind"] for item in status["last"]}
    assert "latency" in kinds                                             # ... so the icmp job ran
    assert status["uploaded"]["accepted"] >= 5 and status["pending"] <= 2
    assert status["clock_source"] == "collector-date" and abs(status["clock_offset_seconds"]) < 1.5
    assert 'mektepnet_probe_outbox_records{state="pending"}' in metrics
    assert 'mektepnet_probe_clock_known{source="collector-date"} 1.0' in metrics
    checked = subprocess.run([require_tool("promtool"), "check", "metrics"], input=metrics, capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    human = run_cli("probe", "status", "--config", config)
    assert "outbox:" in human.stdout and "clock: offset" in human.stdout


def test_the_agent_rotates_a_token_that_expires_soon(collector, tmp_path):
    url, db, _ = collector
    enroll(url, db, tmp_path)
    state = tmp_path / "state"
    old = load_credentials(state)
    save_credentials(state, old.model_copy(update={"expires_at": datetime.now(timezone.utc) + timedelta(days=3)}))
    config = probe_config(tmp_path, url, free_port())
    agent = subprocess.Popen([sys.executable, "-m", "cli", "probe", "run", "--config", config], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while load_credentials(state).token == old.token and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.communicate(timeout=30)
    fresh = load_credentials(state)
    assert fresh.token != old.token and fresh.probe_id == old.probe_id
    assert fresh.expires_at > datetime.now(timezone.utc) + timedelta(days=90)


def test_once_prints_a_table_of_every_job(tmp_path):
    config = probe_config(tmp_path, "http://127.0.0.1:1", free_port())
    result = run_cli("probe", "once", "--config", config, "--no-throughput")
    assert result.returncode == 0 and "dns" in result.stdout and "kundelik.kz" in result.stdout


def test_refusals_exit_2_with_the_reason(collector, tmp_path):
    url, db, _ = collector
    config = probe_config(tmp_path, url, free_port())
    not_enrolled = run_cli("probe", "run", "--config", config)
    assert not_enrolled.returncode == 2 and "no credential there" in not_enrolled.stderr
    bad_code = enroll(url, db, tmp_path, code="AAAA-BBBB-CCCC-DDDD")
    assert bad_code.returncode == 2 and "HTTP 403" in bad_code.stderr and "--enrollment-code" in bad_code.stderr
    unreachable = run_cli("probe", "enroll", "--collector", "http://127.0.0.1:9", "--school-id", "KZ-001",
                          "--enrollment-code", "X" * 16, "--state-dir", tmp_path / "s2")
    assert unreachable.returncode == 2 and "cannot reach the collector" in unreachable.stderr
    bad_school = run_cli("collector", "enroll-code", "--school-id", "bad id!", "--db", db)
    assert bad_school.returncode == 2 and "--school-id" in bad_school.stderr
    no_status = run_cli("probe", "status", "--config", config)
    assert no_status.returncode == 2 and "never ran" in no_status.stderr


def test_the_collector_refuses_bad_options(tmp_path):
    half_tls = run_cli("collector", "serve", "--db", tmp_path / "c.sqlite3", "--tls-cert", "cert.pem")
    assert half_tls.returncode == 2 and "--tls-cert and --tls-key go together" in half_tls.stderr
    missing = run_cli("collector", "serve", "--db", tmp_path / "c.sqlite3", "--probe-config", tmp_path / "absent.yaml")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("collector", "serve", "--db", tmp_path / "c.sqlite3", "--port", taken.getsockname()[1])
    assert busy.returncode == 2 and "--port" in busy.stderr and "in use" in busy.stderr


def test_the_collector_commands_work_on_postgresql(postgres, tmp_path):
    url = postgres.database()
    code = run_cli("collector", "enroll-code", "--school-id", "KZ-001", "--db", url)
    assert code.returncode == 0 and len(code.stdout.strip()) == 19
    process, base = collector_process(url)
    try:
        enrolled = subprocess.run([sys.executable, "-m", "cli", "probe", "enroll", "--collector", base, "--school-id",
                                   "KZ-001", "--enrollment-code", code.stdout.strip(), "--state-dir",
                                   str(tmp_path / "state")], cwd=ROOT, capture_output=True, text=True)
    finally:
        process.terminate()
        process.wait(10)
    assert enrolled.returncode == 0, enrolled.stderr
    listed = run_cli("collector", "probes", "--db", url)
    assert "KZ-001" in listed.stdout


STATUS_KEYS = {"written_at", "started_at", "version", "probe_id", "school_id", "config_hash", "config_version",
               "config_error", "clock_offset_seconds", "clock_source", "ntp_synchronised", "data_used_bytes",
               "data_budget_bytes", "uploaded", "upload_failures", "last_upload_at", "last",
               "previous_version", "on_trial", "agent_starts", "config_group", "fleet_refusal"}


def test_status_shows_the_agent_snapshot_with_the_same_keys_and_an_agent_that_never_wrote_one(tmp_path):
    from core.measurement import Kind
    from probes.outbox import Outbox
    from probes.status import AgentStatus, LastResult, write_status
    from tests.helpers.records import latency_records

    config = probe_config(tmp_path, "http://127.0.0.1:1", free_port())
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    outbox.add(latency_records("KZ-001", "p-1", 2))
    before = json.loads(run_cli("probe", "status", "--config", config, "--json").stdout)
    silent = run_cli("probe", "status", "--config", config)
    [record] = latency_records("KZ-001", "p-1", 1)
    write_status(outbox, AgentStatus(
        written_at=1.8e9, started_at=1.79e9, version="9.9", probe_id="p-1", school_id="KZ-001", config_hash="abc",
        config_version=None, config_error="configuration not applied: HTTP 500", clock_offset_seconds=-0.25,
        clock_source="collector-date", ntp_synchronised=None, data_used_bytes=12_000_000,
        data_budget_bytes=1_000_000_000, uploaded={"accepted": 7}, upload_failures={"busy": 2}, last_upload_at=None,
        last=[LastResult.of(record)]))
    outbox.close()
    status = json.loads(run_cli("probe", "status", "--config", config, "--json").stdout)
    human = run_cli("probe", "status", "--config", config).stdout
    assert set(before) == {"pending", "set_aside", "oldest_pending_seconds", "set_aside_reasons"}
    assert silent.returncode == 0 and "outbox: 2 pending" in silent.stdout
    assert set(status) == set(before) | STATUS_KEYS and status["pending"] == 2
    assert status["uploaded"] == {"accepted": 7} and status["last"][0]["kind"] == Kind.LATENCY.value
    assert set(status["last"][0]) == {"kind", "target", "end", "error", "method", "values"}
    assert "probe p-1 of KZ-001, version 9.9" in human and "clock: offset -0.250 s (collector-date; NTP unknown)" in human
    assert "data used today: 12.0 MB of 1000 MB" in human and "configuration not applied: HTTP 500" in human
    assert "198.18.0.1" in human and "rtt 20.0 ms" in human
