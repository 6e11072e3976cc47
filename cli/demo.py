"""`mektepnet demo`: the whole pipeline on one machine with embedded defaults (the parts built so far)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from cli import norms, registry
from cli.common import console, refuses_bad_input
from core.examples import example_cases, example_measurements
from core.measurement import write_measurements
from core.norms import SHIPPED_POLICIES
from core.registry import Registry, load_registry
from core.school_calendar import SchoolCalendar

DEMO_WEEK = date(2026, 11, 16)   # a full school week (Monday) of the shipped calendar
DEMO_DAYS = 5


@refuses_bad_input
def demo(
    out: Path = typer.Option(Path("mektepnet-demo"), "--out", help="Directory for the demo's files."),
    schools: int = typer.Option(7500, "--schools", help="Schools in the synthetic national registry."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
) -> None:
    """Run the pipeline end to end: a synthetic national registry, its totals, a week of example
    measurements from a few schools, and their verdicts under every shipped norms policy.

    Example: mektepnet demo --out /tmp/demo
    """
    out.mkdir(exist_ok=True)                 # a missing parent is a mistyped path: refused, naming --out
    registry_path, sample_path, measurements_path = out / "registry.csv", out / "sample-registry.csv", \
        out / "measurements.jsonl"
    console.rule("1. synthetic national registry")
    registry.generate(schools=schools, seed=seed, out=registry_path)
    registry.summary(path=registry_path, language="en", as_json=False)

    console.rule(f"2. a week of measurements ({DEMO_WEEK}, {DEMO_DAYS} days) from a few schools")
    national = load_registry(registry_path)
    calendar = SchoolCalendar.load()
    cases = example_cases(list(national))
    records = []
    for index, case in enumerate(cases):
        records += example_measurements(case.school, case.link, calendar, DEMO_WEEK, case.days_reported, seed=index)
        console.print(f"  {case.school.school_id} ({case.school.category.value}, "
                      f"{case.school.contracted_bps / 1e6:g} Mbit/s contract): {case.story}")
    Registry(tuple(case.school for case in cases), national.notes).save(sample_path)
    write_measurements(measurements_path, records)
    console.print(f"  wrote {len(records)} measurements to {measurements_path}")

    console.rule("3. verdicts under every shipped policy")
    norms.check(measurements=measurements_path, registry=sample_path, policies=list(SHIPPED_POLICIES),
                first=DEMO_WEEK.isoformat(), last=None, calendar=None, as_json=False)

    console.rule("4. the first bell on the platforms: a short load test against the platform simulator")
    _first_bell(out / "loadtest", national)
    console.print(f"\nfiles in {out}/: registry.csv, sample-registry.csv, measurements.jsonl, loadtest/summary.json")


def _first_bell(run_dir: Path, national: Registry) -> None:
    """A 30-second first bell of 1/5000 of the registry's first shift on the simulator (started for the run)."""
    import socket

    from cli.loadtest import show_summary
    from loadtests.document import build_document
    from loadtests.launch import launch
    from loadtests.options import RunOptions

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        master_port = probe.getsockname()[1]
    options = RunOptions(shape="first-bell", duration_seconds=30.0, scale=1 / 5000, workers=1, users_per_worker=100,
                         headless=True, metrics_port=0, master_port=master_port, run_dir=run_dir)
    document = build_document(options, national)
    plan = document.plan()
    console.print(f"  {plan.students:,} students (the registry's first shift / 5000) on "
                  f"{', '.join(plan.platforms)}: 07:30-09:00 laid on 30 s")
    _, summary = launch(options, document)
    show_summary(summary)
