"""ndt7 accuracy and data budget against iperf3 on shaped namespace paths (needs root, iperf3, tc, iptables).

For every cell of the grid rate x RTT x loss it builds the school <-> router <-> centre path, then
measures on that same path: iperf3 (one stream, 10 s) download and upload, MektepNet's full 10-s
ndt7 test and its adaptive test, then iperf3 again. The reference is the mean of the two iperf3 runs.
It prints one row per cell with the ratios to iperf3 and the bytes the adaptive test used as a share
of the full test, and marks cells where iperf3 itself is not stable: its two runs differ by more than
3 %, or its 1-s intervals vary by more than 10 % after the first two seconds.

    python -m benchmarks.ndt7_accuracy                       # the whole grid (~35 min)
    python -m benchmarks.ndt7_accuracy --rates 10 --rtts 50 --losses 0
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.helpers.ndt7 import server_process
from tests.helpers.netpath import NetworkPath, PathSpec

STABLE_CV = 0.10
STABLE_REPEAT = 0.03


@dataclass(frozen=True)
class Reading:
    """One direction's figures in one cell: bit/s, bytes."""

    iperf3_bps: float
    iperf3_stable: bool
    full_bps: float
    full_bytes: float
    adaptive_bps: float
    adaptive_bytes: float
    adaptive_seconds: float

    @property
    def full_ratio(self) -> float:
        return self.full_bps / self.iperf3_bps

    @property
    def adaptive_ratio(self) -> float:
        return self.adaptive_bps / self.iperf3_bps


def iperf3_run(path: NetworkPath, seconds: float, reverse: bool) -> tuple[float, bool]:
    """Receiver-side bit/s of one iperf3 stream, and whether its 1-s intervals were stable."""
    server = path.popen(path.centre, "iperf3", "-s", "-1", "-B", path.centre_ip,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    argv = ["iperf3", "-c", path.centre_ip, "-t", str(seconds), "-J"] + (["-R"] if reverse else [])
    report = json.loads(path.in_ns(path.school, *argv).stdout)
    server.wait(timeout=15)
    rates = [i["sum"]["bits_per_second"] for i in report["intervals"]][2:]
    stable = len(rates) < 2 or statistics.pstdev(rates) / max(statistics.mean(rates), 1) <= STABLE_CV
    return report["end"]["sum_received"]["bits_per_second"], stable


def _bracket(before: tuple[float, bool], after: tuple[float, bool]) -> tuple[float, bool]:
    """The mean of two iperf3 runs, stable when both are and they agree within STABLE_REPEAT."""
    mean = (before[0] + after[0]) / 2
    return mean, before[1] and after[1] and abs(before[0] - after[0]) <= STABLE_REPEAT * mean


def ndt7_run(path: NetworkPath, url: str, *args: str) -> dict[str, dict]:
    """MektepNet's ndt7 test from the school namespace; the JSON records by kind."""
    result = path.in_ns(path.school, sys.executable, "-m", "cli", "ndt7", "test", "--server", url, "--json",
                        "--max-bytes", "0", *args)
    return {record["kind"]: record for record in json.loads(result.stdout)}


def measure_cell(spec: PathSpec, iperf3_seconds: float = 10) -> dict[str, Reading]:
    """Both directions of one grid cell."""
    with NetworkPath(spec) as path, server_process(namespace=path.centre, host=path.centre_ip) as ndt7:
        before = {kind: iperf3_run(path, iperf3_seconds, kind == "download") for kind in ("download", "upload")}
        full = ndt7_run(path, ndt7.url, "--full")
        adaptive = ndt7_run(path, ndt7.url)
        after = {kind: iperf3_run(path, iperf3_seconds, kind == "download") for kind in ("download", "upload")}
    reference = {kind: _bracket(before[kind], after[kind]) for kind in before}
    return {kind: Reading(reference[kind][0], reference[kind][1],
                          full[kind]["values"]["throughput_bps"], full[kind]["values"]["transferred_bytes"],
                          adaptive[kind]["values"]["throughput_bps"], adaptive[kind]["values"]["transferred_bytes"],
                          adaptive[kind]["values"]["duration_seconds"])
            for kind in ("download", "upload")}


def table(cells: list[tuple[PathSpec, dict[str, Reading]]]) -> str:
    """The results as a Markdown table, with the overall budget and the accuracy summary."""
    lines = ["| rate | RTT | loss | dir | iperf3 | full ndt7 | ratio | adaptive | ratio | stopped at | bytes vs full |",
             "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    used = full = 0.0
    worst_full = worst_adaptive = 0.0
    for spec, readings in cells:
        for kind, r in readings.items():
            used += r.adaptive_bytes
            full += r.full_bytes
            mark = "" if r.iperf3_stable else " (unstable)"
            if r.iperf3_stable:
                worst_full = max(worst_full, abs(r.full_ratio - 1))
                worst_adaptive = max(worst_adaptive, abs(r.adaptive_ratio - 1))
            lines.append(
                f"| {spec.rate_bps / 1e6:g} Mbit/s | {spec.rtt_seconds * 1000:g} ms | {spec.loss_ratio:.0%} | {kind} "
                f"| {r.iperf3_bps / 1e6:.2f}{mark} | {r.full_bps / 1e6:.2f} | {r.full_ratio:.3f} "
                f"| {r.adaptive_bps / 1e6:.2f} | {r.adaptive_ratio:.3f} | {r.adaptive_seconds:.1f} s "
                f"| {r.adaptive_bytes / r.full_bytes:.0%} |")
    lines.append("")
    lines.append(f"Adaptive bytes / full-test bytes over the grid: **{used / full:.0%}**. Largest deviation from "
                 f"iperf3 where iperf3 is stable: full test {worst_full:.1%}, adaptive test {worst_adaptive:.1%}.")
    return "\n".join(lines)


def main() -> None:
    """Run the grid given on the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="2,10,50,100", help="Mbit/s, comma-separated")
    parser.add_argument("--rtts", default="0,50,300", help="ms, comma-separated")
    parser.add_argument("--losses", default="0,1", help="percent, comma-separated")
    parser.add_argument("--iperf3-seconds", type=float, default=10)
    args = parser.parse_args()
    cells = []
    grid = [(float(rate), float(rtt), float(loss)) for rate in args.rates.split(",")
            for rtt in args.rtts.split(",") for loss in args.losses.split(",")]
    for index, (rate, rtt, loss) in enumerate(grid, start=1):
        spec = PathSpec(rate_bps=rate * 1e6, rtt_seconds=rtt / 1000, loss_ratio=loss / 100)
        started = time.monotonic()
        cells.append((spec, measure_cell(spec, args.iperf3_seconds)))
        print(f"[{index}/{len(grid)}] {rate:g} Mbit/s, {rtt:g} ms, {loss:g} % done in "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(table(cells))


if __name__ == "__main__":
    main()
