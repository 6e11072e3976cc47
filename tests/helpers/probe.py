"""Running `mektepnet probe` for real inside a namespace of a NetworkPath, optionally as an unprivileged user."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

from core.measurement import Measurement
from tests.helpers.netpath import NetworkPath

UNPRIVILEGED = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")


def readable_config(settings: dict) -> Path:
    """Write a probe configuration where any user can read it (pytest's tmp_path is root-only)."""
    directory = Path(tempfile.mkdtemp(prefix="mektepnet-probe-"))
    directory.chmod(0o755)
    path = directory / "probe.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    path.chmod(0o644)
    return path


def latency_config(target: str, icmp: dict, state_dir: str = "/nonexistent") -> dict:
    """A probe configuration with one latency job on `target` and the given icmp module settings."""
    return {"collector": "http://127.0.0.1:1", "school_id": "KZ-001", "state_dir": state_dir,
            "jobs": [{"prober": "icmp", "targets": [target], "interval_seconds": 60, "hours": "always"}],
            "modules": {"icmp": icmp}}


def probe_once(path: NetworkPath, settings: dict, unprivileged: bool = False) -> list[Measurement]:
    """`mektepnet probe once --json --no-throughput` in the school namespace; the records it printed."""
    argv = [sys.executable, "-m", "cli", "probe", "once", "--config", str(readable_config(settings)), "--json",
            "--no-throughput"]
    if unprivileged:
        argv = [*UNPRIVILEGED, *argv]
    result = path.in_ns(path.school, *argv)
    return [Measurement.model_validate(item) for item in json.loads(result.stdout)]
