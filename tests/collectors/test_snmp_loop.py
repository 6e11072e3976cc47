"""The collector's central SNMP loop against a real snmpd: /metrics of every device and port (promtool
checks the text), school uplinks stored as `snmp` measurements, a dead device counted unreachable."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import pytest

from collectors.settings import CollectorSettings
from collectors.store import Store
from tests.helpers.cli import FIXTURES
from tests.helpers.collector import collector_thread
from tests.helpers.ports import free_udp_port
from tests.helpers.snmpd import snmpd
from tests.helpers.tools import require_tool
from tests.helpers.traffic import loopback_traffic

REGISTRY = FIXTURES / "registry" / "valid.csv"


def test_the_central_loop_exports_devices_and_ports_and_stores_school_uplinks(tmp_path, small_registry):
    db = tmp_path / "collector.sqlite3"
    with snmpd(tmp_path / "snmpd") as agent:
        targets = tmp_path / "targets.yaml"
        targets.write_text(
            "defaults: {timeout_seconds: 0.5, retries: 0}\ntargets:\n"
            f"  - {{name: agg-01, address: 127.0.0.1, port: {agent.port}, version: v3, user: {agent.user}, "
            f"auth_protocol: SHA, auth_key: {agent.auth_key}, priv_protocol: AES, priv_key: {agent.priv_key}, "
            "bottleneck_ports: [lo]}\n"
            f"  - {{name: kz-001-cpe, school_id: KZ-001, uplink: lo, address: 127.0.0.1, port: {agent.port}, "
            f"version: v2c, community: {agent.community}}}\n"
            f"  - {{name: gone, address: 127.0.0.1, port: {free_udp_port()}, version: v2c, community: x}}\n")
        config = CollectorSettings(db=db, registry=REGISTRY, snmp_targets=targets).model_copy(
            update={"snmp_interval_seconds": 2.0})          # below the operators' 5 s minimum: a short test
        with collector_thread(config) as url:
            loopback_traffic(5)
            time.sleep(4.5)                                  # at least two sweeps: rates need two readings
            text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    contract = small_registry["KZ-001"].contracted_bps
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("mektepnet_snmp")}
    assert samples['mektepnet_snmp_target_up{target="agg-01"}'] == 1
    assert samples['mektepnet_snmp_target_up{target="kz-001-cpe"}'] == 1
    assert samples['mektepnet_snmp_target_up{target="gone"}'] == 0
    assert samples["mektepnet_snmp_targets_unreachable"] == 1
    assert samples['mektepnet_snmp_target_info{target="kz-001-cpe",school_id="KZ-001",address="127.0.0.1"}'] == 1
    assert samples['mektepnet_snmp_interface_up{target="agg-01",interface="lo"}'] == 1
    received = samples['mektepnet_snmp_interface_receive_bytes_per_second{target="kz-001-cpe",interface="lo"}']
    school = samples['mektepnet_snmp_interface_utilisation_ratio{target="kz-001-cpe",interface="lo",direction="in"}']
    assert received > 0 and school == pytest.approx(received * 8 / contract, rel=1e-9)
    node = samples['mektepnet_snmp_interface_utilisation_ratio{target="agg-01",interface="lo",direction="in"}']
    assert node > 0                                          # against lo's own ifHighSpeed: a bottleneck port
    checked = subprocess.run([require_tool("promtool"), "check", "metrics"], input=text, capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    store = Store(db)
    try:
        stored = store.trusted_between(0, time.time() + 1, "KZ-001", ["snmp"])
    finally:
        store.close()
    assert stored and all(m.probe_id == "collector-snmp" and m.attributes["device"] == "kz-001-cpe" for m in stored)
    assert stored[-1].values["in_utilisation_ratio"] == pytest.approx(stored[-1].values["in_bps"] / contract)


def test_collector_serve_refuses_a_bad_snmp_targets_file_before_starting(tmp_path):
    from tests.helpers.cli import run_cli

    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  - {name: x, address: 10.0.0.1, version: v2c}\n")
    result = run_cli("collector", "serve", "--db", tmp_path / "c.sqlite3", "--port", "0", "--snmp-targets", targets)
    assert result.returncode == 2 and "needs a community" in result.stderr
