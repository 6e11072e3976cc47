"""ndt7 early-stop rules compared on the same transfers: bytes used against error (needs root, like ndt7_accuracy).

On each shaped path of the grid (benchmarks/ndt7_accuracy.py builds them) iperf3 runs once per direction,
then `--repeats` full 10-s ndt7 tests record their byte counts every 100 ms (the samples the adaptive
client stops on). Every rule is then replayed on the same traces: where it would have stopped, the bytes
it would have used as a share of the full test's, and its projected goodput against the full test and
against iperf3 (where iperf3 is stable; the 100 Mbit/s x 300 ms cells, where ndt7 itself reads 6-9 %
below iperf3, are left out of that column). Replaying instead of re-running gives every rule the same
weather: the difference between two rows is the rule's, not the path's.

    sudo .venv/bin/python -m benchmarks.ndt7_stop_rules --rates 10,50,100 --rtts 0,50,300 --losses 0
    sudo .venv/bin/python -m benchmarks.ndt7_stop_rules --traces /tmp/traces.jsonl    # replay saved traces
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

from probes.ndt7.budget import RateEstimator, Stable, StopRule

RULES = {"spread of 6 windows (before)": StopRule(windows=6), "spread of 5 windows": StopRule(windows=5),
         "spread of 4 windows (now)": StopRule(windows=4),
         "spread of 4 windows, 2 % error": StopRule(windows=4, max_projection_error=0.02),
         "spread of 3 windows": StopRule(windows=3)}


class HalfSpanTrend(RateEstimator):
    """The alternative tried: stop when the rates of the two halves of the last span agree."""

    def stable(self):
        now = self.times[-1]
        if now < self.earliest:
            return None
        span = self.rule.windows * self.window
        start, middle, end = (self._bytes_at(t) for t in (now - span, now - span / 2, now))
        first, second = (middle - start) * 16 / span, (end - middle) * 16 / span
        mean = (first + second) / 2
        remaining = max(self.rule.runtime_seconds - now, 0.0) / self.rule.runtime_seconds
        if mean <= 0 or abs(second - first) / mean * remaining > self.rule.max_projection_error:
            return None
        return Stable(now, mean, self.bytes[-1])


ESTIMATORS = {**{name: (RateEstimator, rule) for name, rule in RULES.items()},
              "trend over half-spans, 6 windows": (HalfSpanTrend, StopRule(windows=6)),
              "trend over half-spans, 8 windows": (HalfSpanTrend, StopRule(windows=8))}


def replay(estimator: type[RateEstimator], rule: StopRule, trace: list, min_rtt: float | None) -> tuple:
    """(seconds, bytes, projected bit/s or None) where `rule` stops on a recorded trace (seconds, bytes)."""
    state = estimator(rule, min_rtt)
    for elapsed, moved in trace:
        state.add(elapsed, int(moved))
        if (stable := state.stable()) is not None:
            return stable.elapsed, stable.bytes_so_far, stable.projected_bps()
    return trace[-1][0], trace[-1][1], None


def table(records: list[dict]) -> str:
    """One row per rule: bytes over all traces, worst and mean error against the full test and iperf3."""
    lines = ["| rule | bytes vs full | worst error vs full test | worst vs iperf3 (stable) | mean error |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, (estimator, rule) in ESTIMATORS.items():
        used = full = 0.0
        errors, against_iperf3 = [], [0.0]
        for record in records:
            for kind in ("download", "upload"):
                run = record[kind]
                _, moved, projected = replay(estimator, rule, run["trace"], run["min_rtt"])
                used, full = used + moved, full + run["trace"][-1][1]
                reading = projected if projected is not None else run["bps"]
                errors.append(abs(reading / run["bps"] - 1))
                iperf3_bps, stable = record["iperf3"][kind]
                if stable and not (record["rate"] >= 100 and record["rtt"] >= 300):
                    against_iperf3.append(abs(reading / iperf3_bps - 1))
        lines.append(f"| {name} | {used / full:.0%} | {max(errors):.1%} | {max(against_iperf3):.1%} "
                     f"| {sum(errors) / len(errors):.1%} |")
    return "\n".join(lines)


def trace_client(url: str) -> None:
    """Inside the school namespace: one full test, its byte counts every 100 ms, printed as JSON."""
    from probes.ndt7.client import ClientOptions, run_test

    traces: dict[str, list] = {"download": [], "upload": []}
    results = asyncio.run(run_test(url, ClientOptions(adaptive=False, max_bytes=None),
                                   lambda test, elapsed, bps: traces[test].append((elapsed, bps * elapsed / 8))))
    print(json.dumps({r.test: {"trace": traces[r.test], "min_rtt": r.min_rtt_seconds, "bps": r.throughput_bps}
                      for r in results}))


def record_grid(rates: str, rtts: str, losses: str, repeats: int, out: Path) -> list[dict]:
    """Full-test traces of every cell (appended to `out` as they come)."""
    from benchmarks.ndt7_accuracy import iperf3_run
    from tests.helpers.ndt7 import server_process
    from tests.helpers.netpath import NetworkPath, PathSpec

    records = []
    for rate in rates.split(","):
        for rtt in rtts.split(","):
            for loss in losses.split(","):
                spec = PathSpec(float(rate) * 1e6, float(rtt) / 1000, float(loss) / 100)
                with NetworkPath(spec) as path, server_process(namespace=path.centre, host=path.centre_ip) as ndt7:
                    reference = {kind: iperf3_run(path, 10, kind == "download") for kind in ("download", "upload")}
                    for _ in range(repeats):
                        client = path.popen(path.school, sys.executable, "-m", "benchmarks.ndt7_stop_rules",
                                            "--trace-client", ndt7.url, stdout=subprocess.PIPE)
                        record = {"rate": float(rate), "rtt": float(rtt), "loss": float(loss), "iperf3": reference,
                                  **json.loads(client.communicate(timeout=120)[0])}
                        records.append(record)
                        with out.open("a") as sink:
                            sink.write(json.dumps(record) + "\n")
                print(f"{rate} Mbit/s, {rtt} ms, {loss} % recorded", file=sys.stderr, flush=True)
    return records


def main() -> None:
    """Record (or read) traces, replay every rule, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,50,100", help="Mbit/s, comma-separated")
    parser.add_argument("--rtts", default="0,50,300", help="ms, comma-separated")
    parser.add_argument("--losses", default="0", help="percent, comma-separated")
    parser.add_argument("--repeats", type=int, default=2, help="full tests per cell")
    parser.add_argument("--traces", type=Path, help="replay these saved traces instead of recording")
    parser.add_argument("--save", type=Path, default=Path("ndt7-traces.jsonl"), help="where recorded traces go")
    parser.add_argument("--trace-client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trace_client:
        trace_client(args.trace_client)
        return
    if args.traces:
        records = [json.loads(line) for line in args.traces.read_text().splitlines() if line.strip()]
    else:
        records = record_grid(args.rates, args.rtts, args.losses, args.repeats, args.save)
    print(table(records))


if __name__ == "__main__":
    main()
