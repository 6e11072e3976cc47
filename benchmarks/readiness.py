"""Time to a readiness verdict and its error against the truth, for the readiness fixture's three declared capacities.

For each capacity and seed: `mektepnet loadtest readiness` at full length (the fixture as declared,
a 5-minute budget) against the platform simulator on loopback, and the true readiness of the declared
model (loadtests/truth.py, the median over three seeds) computed in the same run as the anchor. The
table has the readiness found, its error, its 95 % interval and width, whether the interval holds the
truth, the steps and the seconds to the verdict. Run it alone on the machine (it is CPU-sensitive).

    python -m benchmarks.readiness [--seeds 1] [--budget 5m] [--platforms api,tutor,kundelik]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.readiness_truth import CAPACITIES, FIXTURE
from core.synthetic import generate_registry
from loadtests.options import parse_run_length
from loadtests.profile import load_profile
from loadtests.readiness import FinderSettings, Request, find_readiness, prepare
from loadtests.serving import SimulatorConfig, start_simulator
from loadtests.slo import parse_slo
from loadtests.truth import true_readiness

TRUTH_SEEDS = (1, 2, 3)


def truth_of(platform: str) -> float:
    """The median over TRUTH_SEEDS of the declared model's true readiness, requests/s."""
    profile = load_profile(FIXTURE)
    return statistics.median(true_readiness(profile, platform, parse_slo(CAPACITIES[platform]), seed=seed)
                             .requests_per_second for seed in TRUTH_SEEDS)


def run(platforms: list[str], seeds: int, budget_seconds: float, work: Path) -> list[dict]:
    """One row per capacity and seed."""
    registry, profile = generate_registry(7500, 1), load_profile(FIXTURE)
    rows = []
    for platform in platforms:
        truth = truth_of(platform)
        for seed in range(1, seeds + 1):
            with start_simulator(SimulatorConfig(profile, "127.0.0.1", 0, seed=seed)) as simulator:
                request = Request(platform, parse_slo(CAPACITIES[platform]), FIXTURE, work / f"{platform}-{seed}", seed,
                                  target=simulator.url)
                started = time.monotonic()
                result = find_readiness(prepare(request, FinderSettings(budget_seconds), registry))
                seconds = time.monotonic() - started
            rows.append({"platform": platform, "seed": seed, "slo": result.slo, "truth": truth,
                         "found": result.requests_per_second, "verdict": result.verdict.value,
                         "error": result.requests_per_second / truth - 1, "low": result.interval_low_rps,
                         "high": result.interval_high_rps,
                         "holds": result.interval_low_rps <= truth <= result.interval_high_rps,
                         "steps": len(result.steps), "seconds": seconds})
            print(_row(rows[-1]), flush=True)
    return rows


HEADER = ("| platform | seed | SLO | true req/s | found req/s | error | 95 % interval | width | holds the truth "
          "| steps | seconds to verdict |\n| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: |")


def _row(row: dict) -> str:
    high = "inf" if math.isinf(row["high"]) else f"{row['high']:,.0f}"
    width = "inf" if math.isinf(row["high"]) else f"{(row['high'] - row['low']) / row['truth']:.0%}"
    return (f"| {row['platform']} | {row['seed']} | {row['slo']} | {row['truth']:,.1f} | {row['found']:,.1f} "
            f"| {row['error']:+.1%} | {row['low']:,.0f}-{high} | {width} | {'yes' if row['holds'] else 'no'} "
            f"| {row['steps']} | {row['seconds']:.0f} |")


def main() -> None:
    """Print the table (rows as they finish)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--budget", default="5m")
    parser.add_argument("--platforms", default=",".join(CAPACITIES))
    args = parser.parse_args()
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="readiness-bench-") as work:
        rows = run(args.platforms.split(","), args.seeds, parse_run_length(args.budget), Path(work))
    worst = max(abs(row["error"]) for row in rows)
    print(f"\nworst error {worst:.1%}; intervals holding the truth {sum(r['holds'] for r in rows)} of {len(rows)}; "
          f"longest verdict {max(r['seconds'] for r in rows):.0f} s")


if __name__ == "__main__":
    main()
