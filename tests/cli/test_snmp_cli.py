"""`mektepnet snmp poll` against a real snmpd: a table, JSON, exit codes, and a bad targets file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.errors import CoreError
from probes.snmp.targets import load_model
from tests.helpers.cli import ROOT, run_cli
from tests.helpers.snmpd import free_udp_port, snmpd


def test_poll_once_prints_rates_and_names_the_target_that_did_not_answer(tmp_path):
    with snmpd(tmp_path / "snmpd") as agent:
        targets = tmp_path / "targets.yaml"
        targets.write_text(f"defaults: {{timeout_seconds: 0.5, retries: 0}}\ntargets:\n"
                           f"  - {{name: router, address: 127.0.0.1, port: {agent.port}, version: v2c, "
                           f"community: {agent.community}}}\n")
        good = run_cli("snmp", "poll", "--targets", targets, "--once", "--interval", "1", "--json")
        table = run_cli("snmp", "poll", "--targets", targets, "--once", "--interval", "1")
        with targets.open("a") as handle:
            handle.write(f"  - {{name: gone, address: 127.0.0.1, port: {free_udp_port()}, version: v2c, "
                         "community: x}\n")
        partial = run_cli("snmp", "poll", "--targets", targets, "--once", "--interval", "1")
    assert good.returncode == 0, good.stderr
    [sweep] = [json.loads(line) for line in good.stdout.splitlines()]
    lo = next(port for port in sweep["results"][0]["interfaces"] if port["name"] == "lo")
    assert lo["oper_up"] and lo["in_bps"] is not None and lo["counter_bits"] == 64
    assert table.returncode == 0 and "SNMP sweep: 1 targets" in table.stdout and " lo " in table.stdout
    assert partial.returncode == 1 and "no answer gone: No SNMP response" in partial.stdout


def test_a_bad_targets_file_exits_2_naming_the_field(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  - {name: r, address: 10.0.0.1, version: v3}\n")
    result = run_cli("snmp", "poll", "--targets", targets, "--once")
    assert result.returncode == 2 and "needs a user" in result.stderr and "targets" in result.stderr
    missing = run_cli("snmp", "poll", "--targets", tmp_path / "nope.yaml", "--once")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_the_example_targets_file_in_deploy_is_valid():
    document = yaml.safe_load((Path(ROOT) / "deploy" / "snmp-targets.example.yaml").read_text())
    for target in document["targets"]:         # its secrets are files an operator creates; stand in for them
        for key in [k for k in target if k.endswith("_file")]:
            target[key.removesuffix("_file")] = "example-secret"
            del target[key]
    assert [t.name for t in load_model(document, "example").targets] == ["almaty-agg-01", "kz-alm-0042-cpe"]
    with pytest.raises(CoreError):
        load_model({"targets": []}, "example")


def test_bad_options_exit_2_naming_the_option(tmp_path):
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  - {name: r, address: 10.0.0.1, version: v2c, community: c}\n")
    for option, value, words in (("--interval", "0.1", "1 to 3600"), ("--count", "-1", "not be negative"),
                                 ("--concurrency", "0", "at least 1")):
        result = run_cli("snmp", "poll", "--targets", targets, option, value)
        assert result.returncode == 2 and option in result.stderr and words in result.stderr, result.stderr


def test_collector_serve_refuses_bad_new_options_before_starting(tmp_path):
    db = tmp_path / "collector.sqlite3"
    for option, value, words in (("--ingest-workers", "99", "0 to 64"), ("--snmp-interval", "1", "5 to 3600"),
                                 ("--max-clock-offset", "7200", "at most 3600")):
        result = run_cli("collector", "serve", "--db", db, "--port", "0", option, value)
        assert result.returncode == 2 and option in result.stderr and words in result.stderr, result.stderr
    assert not db.exists()                        # refused before the store was created
