"""The whole fleet chain through real agent processes: a real collector serves the signed repository, the agent
takes its group's configuration, switches to a rolled-out version (exit 75), and the launcher returns it from a
version that fails to start; the outbox oracle holds across every switch."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import yaml

from collectors.api import IngestSettings
from collectors.fleet.releases import group_of, publish_config, publish_wheel
from collectors.fleet.repository import FleetRepository
from collectors.fleet.rollout import Plan, advance, start
from collectors.settings import CollectorSettings
from collectors.store import Store
from probes.agent import effective_config, outbox_path
from probes.config import load_config
from probes.outbox import Outbox
from probes.status import read_status
from probes.versions import VERSIONS_ENV, Versions
from tests.helpers.cli import ROOT, run_cli
from tests.helpers.collector import collector_thread, enrolled
from tests.helpers.fleet import agent_wheel, install_root, stub_wheel

SCHOOL = "KZ-001"
NOW_PLAN = Plan(stages_percent=(100.0,), every_seconds=0, grace_seconds=0)


def until(check, what: str, seconds: float = 90):
    """Poll `check` until it returns something true; fail naming `what` if it never does."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.2)
    return value


@pytest.fixture
def fleet(tmp_path):
    """(repository, collector URL, store, probe config path, versions) with 0.1.0 installed as the running agent."""
    repository = FleetRepository.create(tmp_path / "fleet", tmp_path / "offline" / "root.pem")
    settings = CollectorSettings(db=str(tmp_path / "c.sqlite3"), ingest=IngestSettings(fleet_dir=repository.fleet_dir))
    with collector_thread(settings) as url:
        state = tmp_path / "state"
        enrolled(url, tmp_path / "c.sqlite3", SCHOOL, state)
        install_root(repository.fleet_dir, state)
        config = tmp_path / "probe.yaml"
        config.write_text(yaml.safe_dump({
            "collector": url, "school_id": SCHOOL, "state_dir": str(state), "metrics_address": None,
            "jobs": [{"prober": "dns", "targets": ["kundelik.kz"], "interval_seconds": 600, "hours": "always"}],
            "throughput": {"daytime_tests": 0, "night_tests": 0}, "upload": {"interval_seconds": 0.5}}))
        wheel = agent_wheel(tmp_path, "0.1.0")
        publish_wheel(repository, wheel, "0.1.0")
        versions = Versions(tmp_path / "opt")
        versions.install("0.1.0", wheel)                 # as the probe was installed
        versions.switch("0.1.0")
        versions.confirm("0.1.0")
        store = Store(tmp_path / "c.sqlite3")
        yield repository, url, store, config, versions
        store.close()


def snapshot(config):
    """(the agent's status or None, the ids waiting in its outbox)."""
    path = outbox_path(load_config(config).state_dir)
    if not path.exists():
        return None, []
    outbox = Outbox(path, read_only=True)
    try:
        return read_status(outbox), [str(measurement_id) for measurement_id, _ in outbox.oldest(1_000_000)]
    except sqlite3.OperationalError:          # the agent is creating it
        return None, []
    finally:
        outbox.close()


def stored(store, **attributes):
    """The school's stored records whose attributes (or probe_version) match."""
    return [record for record in store.trusted_between(0, 4e9, SCHOOL)
            if all((record.probe_version if name == "probe_version" else record.attributes.get(name)) == value
                   for name, value in attributes.items())]


def test_configuration_version_switch_and_self_rollback_through_real_agents(fleet, tmp_path):
    repository, url, store, config, versions = fleet
    served = {"jobs": [{"prober": "icmp", "targets": ["127.0.0.1"], "interval_seconds": 0.5, "hours": "always"}],
              "modules": {"icmp": {"method": "tcp-connect", "count": 2, "tcp_port": urlsplit(url).port}},
              "upload": {"interval_seconds": 0.5}}
    (tmp_path / "pilot.yaml").write_text(yaml.safe_dump(served))
    pilot = group_of(f"schools={SCHOOL}", None)
    publish_config(repository, tmp_path / "pilot.yaml", "1", pilot)
    config_hash = effective_config(load_config(config), served).digest()

    # 0.1.0 takes its group's configuration and stamps its hash on every record.
    agent = subprocess.Popen([sys.executable, "-m", "cli", "probe", "run", "--config", str(config)], cwd=ROOT,
                             env={**os.environ, VERSIONS_ENV: str(versions.root)},
                             stderr=(tmp_path / "agent.log").open("w"))
    try:
        status = until(lambda: snapshot(config)[0], "the agent's first status")
        assert (status.config_group, status.config_hash, status.version) == (pilot.name, config_hash, "0.1.0")
        until(lambda: stored(store, config_hash=config_hash), "records with the served configuration's hash")

        # 0.2.0 rolled out to 100 %: on SIGHUP the agent installs it beside 0.1.0 and exits 75.
        publish_wheel(repository, agent_wheel(tmp_path, "0.2.0"), "0.2.0")
        start(repository, "agent", NOW_PLAN)
        agent.send_signal(signal.SIGHUP)
        agent.wait(timeout=120)
    finally:
        agent.kill()
    assert agent.returncode == 75, (tmp_path / "agent.log").read_text()
    assert (versions.current(), versions.previous(), versions.trial()["version"]) == ("0.2.0", "0.1.0", "0.2.0")
    _, before = snapshot(config)

    launcher = subprocess.Popen([sys.executable, "-m", "probes.versions", "--root", str(versions.root), "--",
                                 "probe", "run", "--config", str(config)], cwd=tmp_path,
                                env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stderr=(tmp_path / "launcher.log").open("w"))
    try:
        until(lambda: stored(store, probe_version="0.2.0"), "records of 0.2.0")
        assert set(before) <= set(until(lambda: set(before) <= set(store.measurement_ids(SCHOOL)) and
                                        store.measurement_ids(SCHOOL), "the outbox of 0.1.0 uploaded by 0.2.0"))
        assert advance(repository, store) == {"agent": "complete: 0.2.0 is stable"}

        # 0.3.0 fails to start: the launcher returns to 0.2.0 by itself, and the rollout stops.
        publish_wheel(repository, stub_wheel(tmp_path, "0.3.0", "raise SystemExit(3)\n", name="cli"), "0.3.0")
        start(repository, "agent", NOW_PLAN)
        launcher.send_signal(signal.SIGHUP)
        until(lambda: "0.3.0" in versions.failed(), "the launcher's rollback of 0.3.0")
        back = until(lambda: (status := snapshot(config)[0]).agent_starts == 3 and status, "0.2.0 running again")
        until(lambda: stored(store, probe_version="0.2.0", agent_starts="3", starts_last_day="3"),
              "records of 0.2.0 after the rollback, counting its starts")
        assert advance(repository, store)["agent"].startswith("stopped: updated probes silent or not running")
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)
    err = (tmp_path / "launcher.log").read_text()
    assert launcher.returncode == 0, err
    assert "version 0.2.0 switched to 0.3.0" in err and "version 0.3.0 exited with 3 on trial; rolled back to 0.2.0" in err
    assert (back.version, back.previous_version, back.on_trial, back.config_group) == ("0.2.0", None, False, pilot.name)
    assert versions.current() == "0.2.0" and not (versions.root / "trial.json").exists()

    _, left = snapshot(config)
    assert set(before) <= set(store.measurement_ids(SCHOOL))      # nothing lost across the switches ...
    assert not set(left) & set(before)                              # ... and nothing of it still waits
    status = json.loads(run_cli("probe", "status", "--config", config, "--json").stdout)
    assert (status["version"], status["config_group"], status["config_hash"]) == ("0.2.0", pilot.name, config_hash)
    assert status["agent_starts"] == 3 and status["fleet_refusal"] is None
    human = run_cli("probe", "status", "--config", config).stdout
    assert f"fleet: version 0.2.0, previous -; configuration group {pilot.name}" in human
