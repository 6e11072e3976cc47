"""Probe RTT accuracy against the hold times a delaying echo responder logs from kernel timestamps.

For each added delay it builds a school <-> router <-> centre namespace path, starts the responder
(tests/helpers/echoresponder.py) in the centre with that delay, and runs a latency train with each
method: the probe's raw ICMP (scapy, as root), its ICMP datagram socket (as nobody, with
ping_group_range opened), and iputils `ping` as the anchor. Each row compares the train's minimum
and median RTT with the minimum and median hold logged for the same packets. Target: error
<= 0.5 ms + 2 % of the hold.

    python -m benchmarks.probe_rtt                           # 5, 50 and 300 ms, trains of 20
    python -m benchmarks.probe_rtt --delays 0.005 --count 10
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.cli import ROOT
from tests.helpers.netpath import NetworkPath, PathSpec
from tests.helpers.probe import latency_config, probe_once

METHODS = ("icmp-raw", "icmp-datagram", "ping")
ABSOLUTE_TARGET, RELATIVE_TARGET = 0.0005, 0.02


@dataclass(frozen=True)
class Row:
    """One (delay, method) train: reference holds and measured RTTs, seconds."""

    delay: float
    method: str
    hold_min: float
    hold_median: float
    rtt_min: float
    rtt_median: float

    def error(self, which: str) -> float:
        """Measured minus held, seconds, for 'min' or 'median'."""
        return getattr(self, f"rtt_{which}") - getattr(self, f"hold_{which}")

    @property
    def within_target(self) -> bool:
        """Both errors inside 0.5 ms + 2 % of the hold."""
        return all(abs(self.error(w)) <= ABSOLUTE_TARGET + RELATIVE_TARGET * getattr(self, f"hold_{w}")
                   for w in ("min", "median"))


def _ping(path: NetworkPath, count: int, interval: float) -> list[float]:
    result = path.in_ns(path.school, "ping", "-n", "-c", str(count), "-i", str(interval), "-W", "2", path.centre_ip)
    return [float(value) / 1000 for value in re.findall(r"time=([\d.]+) ms", result.stdout)]


def measure(path: NetworkPath, delay: float, method: str, count: int, interval: float = 0.05) -> Row:
    """Run one train with `method` against a fresh responder holding `delay`; the row of its errors."""
    log = Path(tempfile.mkdtemp(prefix="mektepnet-holds-")) / "holds.jsonl"
    responder = path.popen(path.centre, sys.executable, "-m", "tests.helpers.echoresponder", "--delay", str(delay),
                           "--log", str(log), "--seconds", "120", cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if responder.stdout.readline().strip() != "ready":
        raise RuntimeError("the echo responder did not start")
    try:
        if method == "ping":
            rtts = _ping(path, count, interval)
        else:
            settings = {"method": method, "count": count, "interval_seconds": interval, "timeout_seconds": 2}
            [record] = probe_once(path, latency_config(path.centre_ip, settings),
                                  unprivileged=method == "icmp-datagram")
            rtts = [record.values["rtt_min_seconds"], record.values["rtt_median_seconds"]]
    finally:
        responder.terminate()
        responder.wait(5)
    holds = sorted(json.loads(line)["hold_seconds"] for line in log.read_text().splitlines())
    if method == "ping":
        return Row(delay, method, holds[0], statistics.median(holds), min(rtts), statistics.median(rtts))
    return Row(delay, method, holds[0], statistics.median(holds), rtts[0], rtts[1])


def run(delays: list[float], count: int, methods=METHODS) -> list[Row]:
    """Every (delay, method) on its own path."""
    rows = []
    for delay in delays:
        with NetworkPath(PathSpec(rate_bps=None)) as path:
            path.in_ns(path.centre, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
            path.in_ns(path.school, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
            for method in methods:
                rows.append(measure(path, delay, method, count))
    return rows


def table(rows: list[Row]) -> str:
    """Markdown: errors in ms and as a share of the hold, per delay and method."""
    lines = ["| added delay | method | median hold | median RTT | error (median) | min hold | min RTT | "
             "error (min) | within 0.5 ms + 2 % |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        lines.append(
            f"| {row.delay * 1000:g} ms | {row.method} | {row.hold_median * 1000:.3f} ms | "
            f"{row.rtt_median * 1000:.3f} ms | {row.error('median') * 1000:+.3f} ms "
            f"({row.error('median') / row.hold_median:+.2%}) | {row.hold_min * 1000:.3f} ms | "
            f"{row.rtt_min * 1000:.3f} ms | {row.error('min') * 1000:+.3f} ms | {'yes' if row.within_target else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="0.005,0.05,0.3", help="added delays in seconds, comma-separated")
    parser.add_argument("--count", type=int, default=20, help="packets per train")
    args = parser.parse_args(argv)
    print(table(run([float(d) for d in args.delays.split(",")], args.count)))


if __name__ == "__main__":
    main()
