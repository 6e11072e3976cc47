"""`mektepnet fleet` end to end, and its refusals: one line, exit 2; the fleet state in the collector's /metrics."""

from __future__ import annotations

import urllib.request

from collectors.api import IngestSettings
from collectors.settings import CollectorSettings
from tests.helpers.cli import run_cli
from tests.helpers.collector import collector_thread
from tests.helpers.fleet import stub_wheel


def _fleet(tmp_path) -> list[str]:
    return ["--fleet-dir", str(tmp_path / "fleet")]


def test_publish_rollout_status_and_metrics(tmp_path):
    assert run_cli("fleet", "keys", "init", *_fleet(tmp_path), "--root-key", tmp_path / "root.pem").returncode == 0
    for version in ("0.1.0", "0.2.0"):
        published = run_cli("fleet", "publish", *_fleet(tmp_path), "--version", version,
                            "--wheel", stub_wheel(tmp_path, version, ""))
        assert published.returncode == 0, published.stderr
    assert run_cli("fleet", "rollout", *_fleet(tmp_path), "--track", "agent", "--stages", "10,100").returncode == 0
    assert run_cli("fleet", "keys", "rotate", *_fleet(tmp_path), "--root-key", tmp_path / "root.pem").returncode == 0
    status = run_cli("fleet", "status", *_fleet(tmp_path))
    assert "0.2.0" in status.stdout and "rolling" in status.stdout and "root v2" in status.stdout
    settings = CollectorSettings(db=str(tmp_path / "c.sqlite3"), ingest=IngestSettings(fleet_dir=tmp_path / "fleet"))
    with collector_thread(settings) as url:
        text = urllib.request.urlopen(f"{url}/metrics").read().decode()
        assert urllib.request.urlopen(f"{url}/fleet/metadata/2.root.json").status == 200
    assert 'mektepnet_fleet_track_info{track="agent",stable="0.1.0",candidate="0.2.0"} 1' in text
    assert 'mektepnet_fleet_rollout_share_ratio{track="agent"} 0.1' in text
    assert 'mektepnet_fleet_metadata_version{role="root"} 2' in text


def _refused(tmp_path, *args) -> str:
    result = run_cli("fleet", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr + result.stdout


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    assert run_cli("fleet", "keys", "init", *_fleet(tmp_path), "--root-key", tmp_path / "root.pem").returncode == 0
    not_a_wheel = tmp_path / "mektepnet-0.1.0-py3-none-any.whl"
    not_a_wheel.write_text("hello")
    assert "not a wheel" in _refused(tmp_path, "publish", *_fleet(tmp_path), "--version", "0.1.0", "--wheel", not_a_wheel)
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("upload:\n  interval_seconds: -5\n")
    assert "interval_seconds" in _refused(tmp_path, "publish", *_fleet(tmp_path), "--version", "1", "--config", bad_config)
    assert run_cli("fleet", "publish", *_fleet(tmp_path), "--version", "0.2.0",
                   "--wheel", stub_wheel(tmp_path, "0.2.0", "")).returncode == 0
    assert "not newer than 0.2.0" in _refused(tmp_path, "publish", *_fleet(tmp_path), "--version", "0.1.0",
                                              "--wheel", stub_wheel(tmp_path, "0.1.0", ""))
    assert "above 0 and at most 100" in _refused(tmp_path, "rollout", *_fleet(tmp_path), "--track", "agent",
                                                 "--stages", "50,150")
    assert "--root-key" in _refused(tmp_path, "keys", "rotate", *_fleet(tmp_path), "--root-key", tmp_path / "nope.pem")
    assert "not a fleet repository" in _refused(tmp_path, "status", "--fleet-dir", tmp_path / "empty")
