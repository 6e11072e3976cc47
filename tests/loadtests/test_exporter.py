"""The master's exporter: failed requests are counted by outcome beside the histograms (run in a child process:
locust must never be imported into the test runner's interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.cli import ROOT

# A local Locust environment with one ok and two refused requests of one endpoint, collected once.
CHILD = """
import json
from locust.env import Environment
from loadtests.exporter import LoadtestCollector
environment = Environment()
environment.create_local_runner()
stats = environment.runner.stats
stats.log_request("GET", "kundelik:login", 12, 100)
for _ in range(2):
    stats.log_request("GET", "kundelik:login", 3, 0)
    stats.log_error("GET", "kundelik:login", "RequestFailed('http_503')")
samples = [(s.name, s.labels, s.value) for family in LoadtestCollector(environment, {}).collect()
           for s in family.samples if s.name == "mektepnet_loadtest_requests_total"]
print(json.dumps(samples))
"""


def test_requests_are_counted_by_outcome_when_some_failed():
    child = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    counts = {labels["outcome"]: value for _, labels, value in json.loads(child.stdout.strip().splitlines()[-1])}
    assert counts == {"ok": 1, "http_503": 2}
