"""`mektepnet demo` end to end: wall time and peak memory at a given size, against the anchor of its
largest single stage measured in the same run (the simulated history alone: `mektepnet simulate fleet`
on the same registry and days, lean schedule, raw rows for the last 2 days and roll-ups before, one
worker process per core, as the demo loads it), with the demo's own stages timed from its progress lines.

Peak memory is the largest resident set of one process of the run (the demo's own, or its biggest
child: a history worker, Locust, the report, Prometheus), from getrusage of the children. Target: the
national demo (7,500 schools x 30 days) in <= 3 minutes on 2 cores.

    python -m benchmarks.demo                                # the default size
    python -m benchmarks.demo --schools 7500 --days 30
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = re.compile(r"^\[(\d+)/\d+\] (.*)$")
HISTORY_RAW_DAYS = 2                    # as collectors.demo.pipeline loads it


def timed(argv: list[str]) -> tuple[float, float, list[tuple[str, float]]]:
    """(wall seconds, peak RSS in MB of the largest child process so far, (stage, seconds) from the command's
    `[n/N] title` progress lines) of a command run to its end."""
    started = time.monotonic()
    stages: list[tuple[str, float]] = []
    with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}) as process:
        for line in process.stdout:
            if match := STAGE.match(line.strip()):
                stages.append((f"{match[1]}. {match[2][:60]}", time.monotonic()))
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} exited with {process.returncode}")
    seconds = time.monotonic() - started
    ends = [moment for _, moment in stages[1:]] + [started + seconds]
    return (seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            [(title, end - begin) for (title, begin), end in zip(stages, ends)])


def main() -> None:
    """Run the anchor, then the demo; print the tables."""
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
                        str(arguments.days), "--db", str(work / "history.sqlite3"), "--lean", "--raw-days",
                        str(HISTORY_RAW_DAYS), "--workers", str(os.cpu_count() or 1)])
        demo = timed([*cli, "demo", "--out", str(work / "demo"), "--schools", str(arguments.schools), "--days",
                      str(arguments.days)])
    print(f"load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())} "
          f"({os.cpu_count()} cores)\n")
    print(f"| run ({arguments.schools:,} schools x {arguments.days} days) | wall s | peak RSS MB (largest "
          "process so far) | wall / anchor |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| anchor: simulate fleet --lean --raw-days {HISTORY_RAW_DAYS} alone | {anchor[0]:.1f} | {anchor[1]:.0f} "
          "| 1.00 |")
    print(f"| mektepnet demo | {demo[0]:.1f} | {demo[1]:.0f} | {demo[0] / anchor[0]:.2f} |")
    print("\n| demo stage | s |\n| --- | ---: |")
    for title, seconds in demo[2]:
        print(f"| {title} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
