"""What every fault case shares: a collector settings file with rate limits out of the way (the faults,
not the per-probe limits, are under test) and the figures each case prints for docs/reliability.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


def collector_config(directory: Path, **ingest) -> Path:
    """A collector settings file: per-probe limits far above what the test sends, `ingest` keys over them."""
    path = directory / "collector.yaml"
    settings = {"ingest": {"batches_per_token_per_hour": 1_000_000, "batch_burst": 100_000, **ingest}}
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


@pytest.fixture
def report():
    """Print a case's figures as one JSON line (`FAULT {...}`), the source of docs/reliability.md."""
    def emit(case: str, figures: dict) -> None:
        print(f"FAULT {json.dumps({'case': case, **figures}, sort_keys=True, default=str)}")

    return emit
