"""What the probe agent loads: the heavy libraries of other areas stay out, and so does what a prober
needs only when it runs (a school box has little memory; docs/benchmarks.md, probe footprint)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.cli import ROOT

NEVER = ("pandas", "numpy", "fastapi", "locust", "gevent", "psycopg", "matplotlib", "weasyprint", "openpyxl")
ONLY_WHEN_USED = ("scapy", "pysnmp", "websockets")


def loaded_after(code: str) -> set[str]:
    """Top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    output = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(output.stdout.strip().splitlines()[-1]))


def test_the_agent_and_its_command_load_none_of_the_heavy_libraries():
    loaded = loaded_after("import cli.probe, probes.agent, probes.icmp, probes.dns, probes.http, probes.snmp.prober")
    assert "probes" in loaded and "pydantic" in loaded            # the import really ran
    assert loaded.isdisjoint(NEVER + ONLY_WHEN_USED), sorted(loaded & set(NEVER + ONLY_WHEN_USED))

