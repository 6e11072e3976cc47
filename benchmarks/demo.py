"""`mektepnet demo` end to end: wall time and peak memory at a given size, against the anchor of its
largest single stage measured in the same run (the simulated history alone, `mektepnet simulate fleet`
on the same registry and days, lean schedule).

Peak memory is the largest resident set of one process of the run (the demo's own, or its biggest
child: Locust, the report, Prometheus), from getrusage of the children. Target: the national demo
(7,500 schools x 30 days) in <= 3 minutes on 2 cores.

    python -m benchmarks.demo                                # the default size
    python -m benchmarks.demo --schools 7500 --days 30
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB of the largest child process) of a command run to its end."""
    started = time.monotonic()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Run the anchor, then the demo; print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=1500)
    parser.add_argument("--days", type=int, default=7)
    arguments = parser.parse_args()
    cli = [sys.executable, "-m", "cli"]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        subprocess.run([*cli, "registry", "generate", "--schools", str(arguments.schools), "--seed", "1", "--out",
                        str(work / "registry.csv")], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        anchor = timed([*cli, "simulate", "fleet", "--registry", str(work / "registry.csv"), "--days",
                        str(arguments.days), "--db", str(work / "history.sqlite3"), "--lean"])
        demo = timed([*cli, "demo", "--out", str(work / "demo"), "--schools", str(arguments.schools), "--days",
                       str(arguments.days)])
    print(f"| run ({arguments.schools:,} schools x {arguments.days} days) | wall s | peak RSS MB (largest "
          "process so far) | wall / anchor |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| anchor: simulate fleet --lean alone | {anchor[0]:.1f} | {anchor[1]:.0f} | 1.00 |")
    print(f"| mektepnet demo | {demo[0]:.1f} | {demo[1]:.0f} | {demo[0] / anchor[0]:.2f} |")


if __name__ == "__main__":
    main()
