"""A real Prometheus (the Debian package) for tests: scrapes the given targets every second."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import yaml

from tests.helpers.ports import free_port
from tests.helpers.tools import require_tool



class PrometheusServer:
    """A running Prometheus: `query(promql)` answers from its HTTP API."""

    def __init__(self, url: str):
        self.url = url

    def query(self, promql: str) -> list[dict]:
        """The result vector of an instant query."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(address, timeout=10) as answer:
            document = json.load(answer)
        if document["status"] != "success":
            raise RuntimeError(f"{promql}: {document}")
        return document["data"]["result"]

    def by_label(self, promql: str, label: str) -> dict[str, float]:
        """An instant query's values keyed by one label."""
        return {item["metric"].get(label, ""): float(item["value"][1]) for item in self.query(promql)}

    def wait_for(self, promql: str, seconds: float = 30) -> list[dict]:
        """Poll until the query returns something (scrapes happen every second)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.5)
        raise TimeoutError(f"no result for {promql} within {seconds} s")


@contextmanager
def prometheus(workdir: Path, targets: list[str], metrics_path: str = "/metrics"):
    """Start Prometheus scraping `targets` (host:port) every second; yields a PrometheusServer."""
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "mektepnet", "metrics_path": metrics_path,
                            "static_configs": [{"targets": targets}]}],
    }))
    with prometheus_with_config(config, workdir) as server:
        yield server


@contextmanager
def prometheus_with_config(config: Path, workdir: Path):
    """Start Prometheus on a given prometheus.yml (rule files relative to it); yields a PrometheusServer."""
    binary = require_tool("prometheus")
    port, log = free_port(), workdir / "prometheus.log"
    with log.open("w") as output:
        process = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"prometheus did not become ready: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield PrometheusServer(url)
    finally:
        process.terminate()
        process.wait(15)
