"""A real Alertmanager (the Debian package `prometheus-alertmanager`) for tests, clustering off."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import yaml

from tests.helpers.ports import free_port
from tests.helpers.tools import require_tool


class AlertmanagerServer:
    """A running Alertmanager: `address` (host:port) for Prometheus, `alerts()` from its API."""

    def __init__(self, port: int):
        self.address = f"127.0.0.1:{port}"
        self.url = f"http://{self.address}"

    def alerts(self) -> list[dict]:
        """The alerts it holds now (API v2)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as answer:
            return json.load(answer)


@contextmanager
def alertmanager(workdir: Path, config: dict, ready_seconds: float = 30):
    """Start Alertmanager on `config` (an alertmanager.yml document) in `workdir`; yields an AlertmanagerServer."""
    binary = require_tool("prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config_file, log = workdir / "alertmanager.yml", workdir / "alertmanager.log"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen([binary, f"--config.file={config_file}", f"--storage.path={workdir / 'data'}",
                                    f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                                   stdout=subprocess.DEVNULL, stderr=output)
    server = AlertmanagerServer(port)
    try:
        deadline = time.monotonic() + ready_seconds
        while not _ready(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"alertmanager did not become ready within {ready_seconds} s: "
                                   f"{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(15)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False
