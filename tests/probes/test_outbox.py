"""The durability oracle: every measurement committed to the outbox reaches the collector exactly once.

The agent runs for real in a school namespace and uploads over HTTPS to a real collector in a centre
namespace, while the test SIGKILLs the agent at random moments (mid-write, mid-upload), kills and
restarts the collector, and takes the school's link down and up. A trigger on the outbox records
every committed id in a ledger inside the same transaction, so the oracle compares the ledger with
the collector's store: equal sets, no duplicates. The same chaos against a build that deletes from
the outbox before the acknowledgement must lose measurements — else the oracle could not fail.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import ROOT
from tests.helpers.collector import collector_process
from tests.helpers.netpath import NetworkPath, PathSpec
from tests.helpers.oracle import keep_ledger, outbox_state, stored_ids
from tests.helpers.probe import readable_config
from tests.helpers.tlsca import TestCA

PORT = 8443


class Chaos:
    """A collector, an enrolled agent and the means to hurt them, on one NetworkPath."""

    def __init__(self, path: NetworkPath, workdir: Path, agent_module: str):
        self.path, self.workdir, self.agent_module = path, workdir, agent_module
        self.db = workdir / "collector.sqlite3"
        ca = TestCA.create(workdir)
        self.cert, self.key = ca.issue(workdir, path.centre_ip)
        self.state_dir = workdir / "probe-state"
        self.url = f"https://{path.centre_ip}:{PORT}"
        self.collector: subprocess.Popen | None = None
        self.agent: subprocess.Popen | None = None
        self.start_collector()
        code = subprocess.run([sys.executable, "-m", "cli", "collector", "enroll-code", "--school-id", "KZ-001",
                               "--db", str(self.db)], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        path.in_ns(path.school, sys.executable, "-m", "cli", "probe", "enroll", "--collector", self.url,
                   "--school-id", "KZ-001", "--enrollment-code", code.strip(), "--state-dir", str(self.state_dir),
                   "--ca-file", str(ca.cert_file))
        self.config = self.write_config(path, ca.cert_file, measuring=True)
        self.drain_config = self.write_config(path, ca.cert_file, measuring=False)
        keep_ledger(self.state_dir / "outbox.sqlite3")

    def write_config(self, path: NetworkPath, ca_file: Path, measuring: bool) -> Path:
        """The agent's configuration: fast latency jobs while measuring, none for the final drain."""
        jobs = [{"prober": "icmp", "targets": [path.centre_ip] * 4, "interval_seconds": 0.02, "hours": "always"}]
        return readable_config({
            "collector": self.url, "school_id": "KZ-001", "state_dir": str(self.state_dir),
            "ca_file": str(ca_file), "metrics_address": None, "jobs": jobs if measuring else [],
            "modules": {"icmp": {"method": "tcp-connect", "count": 1, "tcp_port": PORT, "timeout_seconds": 0.5}},
            "throughput": {"daytime_tests": 0, "night_tests": 0},
            "upload": {"batch_records": 100, "interval_seconds": 0.3, "backoff_initial_seconds": 0.2,
                       "backoff_max_seconds": 1.0, "timeout_seconds": 3},
        })

    def start_collector(self) -> None:
        self.collector, _ = collector_process(self.db, "--tls-cert", str(self.cert), "--tls-key", str(self.key),
                                              namespace=self.path.centre, host=self.path.centre_ip, port=PORT)

    def kill_collector(self) -> None:
        self.collector.kill()
        self.collector.wait(10)

    def start_agent(self, config: Path | None = None) -> None:
        log = (self.workdir / "agent.log").open("a")
        self.agent = self.path.popen(self.path.school, sys.executable, "-m", self.agent_module, "probe", "run",
                                     "--config", str(config or self.config), cwd=ROOT, stdout=log, stderr=log)

    def kill_agent(self) -> None:
        self.agent.kill()
        self.agent.wait(10)

    def link(self, up: bool) -> None:
        self.path.in_ns(self.path.school, "ip", "link", "set", "eth0", "up" if up else "down")
        if up:
            self.path.in_ns(self.path.school, "ip", "route", "replace", "default", "via", "198.18.1.1")

    def outbox_state(self) -> tuple[set[str], int, int]:
        """(ledger ids, pending, set aside) as committed in the outbox right now."""
        return outbox_state(self.state_dir / "outbox.sqlite3")

    def stored(self) -> list[str]:
        return stored_ids(self.db)

    def run(self, kills: int, minimum: int, seed: int, deadline_seconds: float) -> dict:
        """Random SIGKILLs with collector outages and link flaps until both bounds are met, then drain."""
        rng = random.Random(seed)
        deadline = time.monotonic() + deadline_seconds
        done, troubles = 0, {"none": 0, "collector": 0, "link": 0}
        while (done < kills or len(self.outbox_state()[0]) < minimum) and time.monotonic() < deadline:
            self.start_agent()
            trouble = rng.choice(["none", "none", "collector", "link"])
            troubles[trouble] += 1
            time.sleep(rng.uniform(0.8, 2.5))
            if trouble == "collector":
                self.kill_collector()
            elif trouble == "link":
                self.link(up=False)
            time.sleep(rng.uniform(0.8, 2.5))
            self.kill_agent()
            done += 1
            if trouble == "collector":
                self.start_collector()
            elif trouble == "link":
                self.link(up=True)
        self.start_agent(self.drain_config)      # the last run measures nothing more and drains the outbox
        drain_until = time.monotonic() + 60
        while self.outbox_state()[1] and time.monotonic() < drain_until:
            time.sleep(0.5)
        self.kill_agent()
        ledger, pending, aside = self.outbox_state()
        stored = self.stored()
        return {"kills": done, "collector_outages": troubles["collector"], "link_flaps": troubles["link"],
                "committed": len(ledger), "pending": pending, "set_aside": aside,
                "stored": len(stored), "lost": len(ledger - set(stored)), "unknown": len(set(stored) - ledger),
                "duplicated": len(stored) - len(set(stored))}

    def close(self) -> None:
        for process in (self.agent, self.collector):
            if process is not None and process.poll() is None:
                process.kill()


def chaos_outcome(workdir: Path, agent_module: str, kills: int, minimum: int, deadline_seconds: float) -> dict:
    """Build a path, run the chaos with the given agent build, and return (and print) the oracle's figures."""
    with NetworkPath(PathSpec(rate_bps=None)) as path:
        chaos = Chaos(path, workdir, agent_module)
        try:
            outcome = chaos.run(kills=kills, minimum=minimum, seed=4, deadline_seconds=deadline_seconds)
        finally:
            chaos.close()
    print(outcome)
    return outcome


@pytest.mark.slow
def test_no_measurement_is_lost_or_duplicated_under_kills_outages_and_link_flaps(network_namespaces, tmp_path):
    outcome = chaos_outcome(tmp_path, "cli", kills=22, minimum=5000, deadline_seconds=240)
    assert outcome["kills"] >= 20 and outcome["committed"] >= 5000, outcome
    assert outcome["collector_outages"] >= 3 and outcome["link_flaps"] >= 3, outcome
    assert outcome["pending"] == 0 and outcome["set_aside"] == 0, outcome
    assert outcome["lost"] == 0 and outcome["unknown"] == 0 and outcome["duplicated"] == 0, outcome


def test_the_oracle_catches_a_build_that_deletes_before_the_acknowledgement(network_namespaces, tmp_path):
    outcome = chaos_outcome(tmp_path, "tests.helpers.mutant_agent", kills=6, minimum=0, deadline_seconds=60)
    assert outcome["lost"] > 0, outcome
