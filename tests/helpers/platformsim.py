"""The platform simulator as a real server for tests (`mektepnet platform-sim serve` in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.cli import ROOT
from tests.helpers.ports import free_port


@contextmanager
def platform_sim(profile: Path | None = None, *args: str, host: str = "127.0.0.1", namespace: str | None = None):
    """Start the simulator on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    argv = [sys.executable, "-m", "cli", "platform-sim", "serve", "--host", host, "--port", str(port), *args]
    if profile is not None:
        argv += ["--profile", str(profile)]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://{host}:{port}"
    try:
        if namespace is None:
            _wait_healthy(url, process)
        else:
            time.sleep(2.0)
            if process.poll() is not None:
                raise RuntimeError(f"simulator exited: {process.stderr.read()}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"simulator at {url} did not answer")


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
