"""The platform simulator as a real server for tests: a child process behind the library's handle."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loadtests.profile import load_profile
from loadtests.serving import SimulatorConfig, start_simulator


@contextmanager
def platform_sim(profile: Path | None = None, quarter_end: bool = False, host: str = "127.0.0.1") -> Iterator[str]:
    """Start the simulator on a free port; yields its base URL (it listens already) and stops it afterwards."""
    with start_simulator(SimulatorConfig(load_profile(profile), host, 0, quarter_end)) as handle:
        yield handle.url


def sim_counter(url: str, outcome: str, endpoint: str | None = None) -> float:
    """Sum of the simulator's mektepnet_platform_sim_requests_total for an outcome (and endpoint)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("mektepnet_platform_sim_requests_total{") and f'outcome="{outcome}"' in line:
            if endpoint is None or f'endpoint="{endpoint}"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total
