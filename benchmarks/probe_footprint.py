"""Footprint of the school probe agent: memory (RSS) and CPU, idle, measuring, and during a throughput test.

Everything runs on loopback: a collector and an ndt7 server (in this process), a DNS responder and a
web server standing in for the platforms. The agent runs as `mektepnet probe run` (as root, so its
latency trains use raw ICMP via scapy) and is scraped at /metrics every 15 s, as Prometheus would.

1. idle: no periodic jobs — uploader, status and scrapes only;
2. measuring: the default jobs (a latency train to the collector, DNS and HTTPS of 5 platforms) at
   intervals 30 times shorter than the defaults (10 s, 30 s, 30 s); the default schedule's CPU is
   projected as idle + (measuring - idle) / 30;
3. throughput: one ndt7 test (download then upload, loopback, so at gigabit/s rates) scheduled 15 s
   ahead while the measuring jobs also run; RSS peak and the CPU share from the test's start to its end.
Targets: <= 80 MB RSS and <= 2 % of one core on average between tests.

    python -m benchmarks.probe_footprint                    # 120 s per phase
    python -m benchmarks.probe_footprint --seconds 20
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from collectors.settings import CollectorSettings
from core.timezone import almaty
from probes.ndt7.server import ServerConfig
from tests.helpers.cli import ROOT
from tests.helpers.collector import collector_thread, enrolled
from tests.helpers.dnsserver import Zone, dns_server
from tests.helpers.ports import free_port
from tests.helpers.ndt7 import server_thread
from tests.helpers.tlsca import TestCA
from tests.helpers.webserver import web_server

PLATFORMS = ("kundelik.kz", "bilimland.kz", "daryn.online", "bilimclass.kz", "onlinemektep.org")
COMPRESSION = 30
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) in MB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


class Bench:
    """The loopback world the agent measures, and the agent itself, phase by phase."""

    def __init__(self, stack: ExitStack, workdir: Path):
        self.workdir = workdir
        ca = TestCA.create(workdir)
        cert, key = ca.issue(workdir, "localhost", "127.0.0.1")
        self.ca_file = ca.cert_file
        self.collector = stack.enter_context(collector_thread(CollectorSettings(db=workdir / "collector.sqlite3")))
        self.ndt7_url = stack.enter_context(server_thread(ServerConfig())).url
        self.dns = stack.enter_context(dns_server(Zone({name: "127.0.0.1" for name in PLATFORMS})))
        self.web_port = stack.enter_context(web_server(cert, key, host="127.0.0.1"))
        self.state_dir = workdir / "state"
        enrolled(self.collector, workdir / "collector.sqlite3", "KZ-001", self.state_dir)
        self.metrics_port = free_port()

    def config(self, jobs: list[dict], throughput: dict) -> Path:
        settings = {
            "collector": self.collector, "school_id": "KZ-001", "state_dir": str(self.state_dir),
            "metrics_address": f"127.0.0.1:{self.metrics_port}", "jobs": jobs, "throughput": throughput,
            "modules": {"icmp": {"method": "icmp-raw"},
                        "dns": {"resolver": self.dns[0], "port": self.dns[1]},
                        "http": {"ca_file": str(self.ca_file)},
                        "ndt7": {"servers": [{"name": "loopback", "url": self.ndt7_url}]}},
        }
        path = self.workdir / f"probe-{len(jobs)}-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        return path

    def jobs(self, compression: int) -> list[dict]:
        web = f"https://localhost:{self.web_port}/"
        return [{"prober": "icmp", "targets": ["127.0.0.1"], "interval_seconds": 300 / compression, "hours": "always"},
                {"prober": "dns", "targets": list(PLATFORMS), "interval_seconds": 900 / compression, "hours": "always"},
                {"prober": "http", "targets": [web] * len(PLATFORMS), "interval_seconds": 900 / compression,
                 "hours": "always"}]

    def phase(self, config: Path, seconds: float, until=None, warm_up: float = 5.0, ready=None) -> dict:
        """Run the agent on `config`; CPU share and memory over `seconds` after `warm_up` seconds (and, with
        `ready`, once a scrape satisfies it: the probers have run, so what they load is loaded)."""
        agent = subprocess.Popen([sys.executable, "-m", "cli", "probe", "run", "--config", str(config)], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(warm_up)
            deadline = time.monotonic() + 60
            while ready is not None and time.monotonic() < deadline and not ready(self._scrape()):
                time.sleep(0.5)
            began, cpu_began = time.monotonic(), cpu_seconds(agent.pid)
            while time.monotonic() - began < seconds and not (until and until()):
                self.scrape_every(1 if until else 15, began)
                time.sleep(0.5)
            elapsed = time.monotonic() - began
            cpu = cpu_seconds(agent.pid) - cpu_began
            rss, peak = memory(agent.pid)
        finally:
            agent.terminate()
            agent.wait(15)
        return {"cpu_share": cpu / elapsed, "rss_mb": rss, "peak_mb": peak, "seconds": elapsed}

    def scrape_every(self, period: float, began: float) -> None:
        """Scrape /metrics once per `period` seconds, as Prometheus would."""
        due = int((time.monotonic() - began) // period)
        if due >= getattr(self, "_scrapes", 0):
            self._scrapes = due + 1
            self.last_scrape = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read()

    def _scrape(self) -> bytes:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read()
        except OSError:
            return b""

    def throughput_done(self) -> bool:
        """True once a scrape showed the upload result of the throughput test."""
        return b"mektepnet_probe_throughput_bytes_per_second{direction=\"upload\"}" in getattr(self, "last_scrape", b"")


def run(seconds: float) -> dict[str, dict]:
    """The three phases; returns their figures."""
    with ExitStack() as stack:
        bench = Bench(stack, Path(tempfile.mkdtemp(prefix="mektepnet-footprint-")))
        quiet = {"daytime_tests": 0, "night_tests": 0}
        results = {"idle": bench.phase(bench.config([], quiet), seconds),
                   "measuring": bench.phase(bench.config(bench.jobs(COMPRESSION), quiet), seconds,
                                            ready=lambda text: all(f'kind="{kind}"'.encode() in text
                                                                   for kind in ("latency", "dns", "http")))}
        lead = 15.0
        soon = datetime.now(almaty()) + timedelta(seconds=lead)
        window = {"start": soon.strftime("%H:%M:%S"), "end": (soon + timedelta(seconds=1)).strftime("%H:%M:%S")}
        throughput = {"day_windows": [window], "daytime_tests": 1, "night_tests": 0, "school_days_only": False}
        bench._scrapes = 0
        # The measuring jobs run too, so that everything a working agent loads is loaded when the test comes.
        results["throughput"] = bench.phase(bench.config(bench.jobs(COMPRESSION), throughput), 90,
                                            until=bench.throughput_done, warm_up=lead - 1)
        results["throughput"]["completed"] = bench.throughput_done()
    results["projected"] = {"cpu_share": results["idle"]["cpu_share"]
                            + (results["measuring"]["cpu_share"] - results["idle"]["cpu_share"]) / COMPRESSION}
    return results


def table(results: dict[str, dict]) -> str:
    """Markdown table of the phases against the targets."""
    idle, busy, test = results["idle"], results["measuring"], results["throughput"]
    rows = [
        ("idle (no jobs)", idle["rss_mb"], idle["peak_mb"], idle["cpu_share"]),
        (f"measuring, schedule x{COMPRESSION}", busy["rss_mb"], busy["peak_mb"], busy["cpu_share"]),
        ("default schedule (projected)", None, None, results["projected"]["cpu_share"]),
        ("during a throughput test" + ("" if test["completed"] else " (NOT COMPLETED)"), test["rss_mb"],
         test["peak_mb"], test["cpu_share"]),
    ]
    lines = ["| phase | RSS | peak RSS | CPU (share of one core) |", "| --- | --- | --- | --- |"]
    for name, rss, peak, cpu in rows:
        shown = [f"{value:.1f} MB" if value is not None else "-" for value in (rss, peak)]
        lines.append(f"| {name} | {shown[0]} | {shown[1]} | {cpu:.2%} |")
    lines.append("| target | <= 80 MB | <= 80 MB | <= 2 % between tests |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="length of the idle and measuring phases")
    args = parser.parse_args(argv)
    print(table(run(args.seconds)))


if __name__ == "__main__":
    main()
