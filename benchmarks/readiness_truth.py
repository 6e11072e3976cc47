"""The true readiness of the readiness fixture's three declared capacities, over several seeds, against the rig ceiling.

For each capacity: its SLO, the rate at which its busiest endpoint's workers saturate, the true readiness
(loadtests/truth.py) per seed with its spread, the sessions/s and students in session it implies, the
platform at that rate, its share of this machine's rig ceiling (loadtests/data/generator.yaml) and the
time one truth takes.

    python -m benchmarks.readiness_truth [--seeds 5] [--requests 200000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from loadtests.capacity import load_generator_capacity
from loadtests.profile import READINESS_PROFILE, load_profile
from loadtests.slo import parse_slo
from loadtests.truth import REQUESTS, Truth, true_readiness

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = READINESS_PROFILE
# The SLO each declared capacity is judged by: one refusal-bound, one latency-bound, one mixed.
CAPACITIES = {"api": "p95<800ms,errors<1%", "tutor": "p95<300ms,errors<1%", "kundelik": "p95<500ms,errors<1%"}


def run(seeds: int = 5, requests: int = REQUESTS, profile_path: Path = FIXTURE) -> list[dict]:
    """One row per capacity: the truth per seed and what it implies."""
    profile, ceiling = load_profile(profile_path), load_generator_capacity().rig_ceiling_requests_per_second
    rows = []
    for platform, text in CAPACITIES.items():
        slo, declared = parse_slo(text), profile.platforms[platform]
        started = time.perf_counter()
        truths = [true_readiness(profile, platform, slo, seed=seed, requests=requests) for seed in range(1, seeds + 1)]
        rates = [truth.requests_per_second for truth in truths]
        first = truths[0].at_readiness
        rows.append({"platform": platform, "kind": declared.kind.value, "slo": str(slo),
                     "saturation": Truth(declared, requests=1000).saturation_rps(),
                     "readiness": statistics.median(rates), "low": min(rates), "high": max(rates),
                     "sessions": statistics.median(t.sessions_per_second for t in truths),
                     "students": statistics.median(t.students_in_session for t in truths),
                     "p95": first.quantile_seconds[0.95], "refused": first.refused_ratio,
                     "share_of_ceiling": statistics.median(rates) / ceiling, "tolerance": truths[0].tolerance,
                     "seconds": (time.perf_counter() - started) / seeds})
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| platform | kind | SLO | saturation req/s | true readiness req/s (median) | seeds' range | sessions/s "
             "| students in session | p95 there (seed 1) | refused there | share of rig ceiling | seconds per truth |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['platform']} | {r['kind']} | {r['slo']} | {r['saturation']:.1f} | {r['readiness']:.1f} "
                     f"| {r['low']:.1f}-{r['high']:.1f} | {r['sessions']:.1f} | {r['students']:,.0f} "
                     f"| {r['p95'] * 1000:.0f} ms "
                     f"| {r['refused']:.2%} | {r['share_of_ceiling']:.0%} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=REQUESTS, help="simulated arrivals per rate")
    options = parser.parse_args(argv)
    print(table(run(options.seeds, options.requests)))


if __name__ == "__main__":
    main()
