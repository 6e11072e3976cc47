"""`mektepnet loadtest`: plan and run Locust load tests of the education platforms (open model, distributed)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import typer

from cli.common import console, refuses_bad_input
from core.errors import CoreError

app = typer.Typer(no_args_is_help=True, help="Load tests of the platforms: a country of students, with Locust.")

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """'90s', '10m', '1h' or bare seconds -> seconds; CoreError naming --duration otherwise."""
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:], None)
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise CoreError.one("command line", "--duration", text, "must be seconds or a number with s, m or h") from None
    if not 5 <= seconds <= 24 * 3600:
        raise CoreError.one("command line", "--duration", text, "must be 5 s to 24 h")
    return seconds


def _kinds(text: str | None):
    if not text:
        return None
    from loadtests.profile import PlatformKind

    kinds = set()
    for part in text.split(","):
        try:
            kinds.add(PlatformKind(part.strip()))
        except ValueError:
            raise CoreError.one("command line", "--kind", part, f"known kinds: {', '.join(k.value for k in PlatformKind)}") from None
    return frozenset(kinds)


def _registry(path: Path | None):
    if path is not None:
        from core.registry import load_registry

        return load_registry(path)
    from core.synthetic import generate_registry

    return generate_registry(7500, 1)


def _options(profile, shape, students, scale, duration, ramp, kind, workers, users, headless, confirm, host,
             metrics_port, master_port, seed, run_dir, simulator=True):
    from loadtests.launch import RunOptions

    if students is not None and not 1 <= students <= 10_000_000:
        raise CoreError.one("command line", "--students", students, "must be 1 to 10,000,000")
    if not 0 < scale <= 10:
        raise CoreError.one("command line", "--scale", scale, "must be above 0 and at most 10")
    if not 0 <= workers <= 256:
        raise CoreError.one("command line", "--workers", workers, "must be 0 (one local process) to 256")
    if not 1 <= users <= 20_000:
        raise CoreError.one("command line", "--users-per-worker", users, "must be 1 to 20,000")
    if not 0 <= metrics_port <= 65535:
        raise CoreError.one("command line", "--metrics-port", metrics_port, "must be 0 (none) to 65535")
    if not 1 <= master_port <= 65535:
        raise CoreError.one("command line", "--master-port", master_port, "must be 1 to 65535")
    if ramp is not None and ramp < 0:
        raise CoreError.one("command line", "--ramp", ramp, "must not be negative")
    return RunOptions(profile, shape, parse_duration(duration), students, scale, ramp, _kinds(kind), workers, users,
                      headless,
                      tuple(confirm or ()), host, metrics_port, master_port, seed=seed, run_dir=run_dir,
                      simulator=simulator)


PROFILE = typer.Option(None, "--profile", help="Platform profile (YAML); default: the embedded local simulator profile.")
SHAPE = typer.Option("first-bell", "--shape", help="first-bell, second-shift, quarter-end, new-platform or steady.")
STUDENTS = typer.Option(None, "--students", help="Students in the run (default: the registry's, times --scale).")
SCALE = typer.Option(0.001, "--scale", help="Factor on the registry's students per shift and region.")
REGISTRY = typer.Option(None, "--registry", help="School registry for the students per shift and region "
                        "(default: a synthetic national one).")
DURATION = typer.Option("10m", "--duration", help="How long the run lasts; the shape is laid on it (e.g. 90s, 10m).")
RAMP = typer.Option(None, "--ramp", help="steady shape: seconds over which students arrive (default: a quarter).")
KIND = typer.Option(None, "--kind", help="Only these platform kinds: ediary, video, testing, tutor (comma-separated).")


@app.command()
@refuses_bad_input
def plan(profile: Path = PROFILE, shape: str = SHAPE, students: int = STUDENTS, scale: float = SCALE,
         registry: Path = REGISTRY, duration: str = DURATION, ramp: float = RAMP, kind: str = KIND) -> None:
    """Show what a run would do, without sending anything: students per group and region, the peak
    request rate against the profile's cap, and the curve of students in session.

    Example: mektepnet loadtest plan --shape first-bell --scale 0.01 --duration 10m
    """
    from loadtests.launch import build_plan

    options = _options(profile, shape, students, scale, duration, ramp, kind, 0, 1, True, (), None, 0, 1, 1,
                       Path("."))
    chosen, targets = build_plan(options, _registry(registry))
    _show_plan(chosen, targets)


def _show_plan(chosen, targets) -> None:
    from rich.table import Table

    from core.summary import region_name

    curve = chosen.rate_curve(60)
    peak_rate = max(rate for _, _, rate in curve)
    console.print(f"[bold]{chosen.shape.name}[/bold] ({chosen.shape.window} Asia/Almaty laid on "
                  f"{chosen.duration_seconds:g} s): {chosen.shape.description}")
    console.print(f"students {chosen.students:,} in groups "
                  + ", ".join(f"{g.name} {n:,}" for g, n in zip(chosen.shape.groups, chosen.group_sizes))
                  + f"; targets {', '.join(targets)}")
    console.print(f"peak intended rate ~{peak_rate:,.0f} requests/s "
                  f"(cap {chosen.profile.limits.max_requests_per_second:,.0f}); "
                  f"platforms {', '.join(chosen.platforms)}")
    width, top = 50, max(1.0, max(present for _, present, _ in curve))
    for t, present, rate in curve[::6]:
        console.print(f"{t:7.0f} s {present:10,.0f} in session {rate:9,.0f} req/s "
                      + "█" * int(width * present / top), highlight=False)
    if chosen.regions:
        table = Table(title="students by region (registry, scaled)")
        table.add_column("region")
        table.add_column("students", justify="right")
        for region, count in sorted(chosen.regions.items(), key=lambda item: -item[1]):
            table.add_row(region_name(region), f"{count:,}")
        console.print(table)


@app.command()
@refuses_bad_input
def run(
    profile: Path = PROFILE, shape: str = SHAPE, students: int = STUDENTS, scale: float = SCALE,
    registry: Path = REGISTRY, duration: str = DURATION, ramp: float = RAMP, kind: str = KIND,
    workers: int = typer.Option(2, "--workers", help="Locust worker processes on this machine (0: one local process)."),
    users: int = typer.Option(200, "--users-per-worker", help="Senders per process: requests in flight at most."),
    headless: bool = typer.Option(False, "--headless", help="No web UI; print the results at the end."),
    confirm: list[str] = typer.Option(None, "--confirm-target", help="Confirm a non-loopback host named in the "
                                      "profile's allow_hosts (repeat for several)."),
    host: str = typer.Option(None, "--host", help="Aim at this base URL instead of the profile's targets."),
    metrics_port: int = typer.Option(9650, "--metrics-port", help="Prometheus metrics of the run (master); 0: none."),
    master_port: int = typer.Option(5557, "--master-port", help="Port the master listens on for workers (loopback)."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the journeys' pauses."),
    run_dir: Path = typer.Option(Path("loadtest-run"), "--run-dir", help="Where logs and summary.json go."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    simulator: bool = typer.Option(True, "--simulator/--no-simulator", help="Start the platform simulator on "
                                   "loopback targets where nothing listens (quarter-end shapes slow it down)."),
    remote_workers: int = typer.Option(0, "--remote-workers", help="Also wait for this many workers from other "
                                       "machines (mektepnet loadtest worker); see docs/loadtest.md."),
    master_bind_host: str = typer.Option("127.0.0.1", "--master-bind-host", help="Address the master listens on "
                                         "for workers (a LAN address when workers join from other machines)."),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="Address of the metrics listener."),
    web_port: int = typer.Option(8089, "--web-port", help="Locust's web UI on loopback (without --headless); it stays "
                                 "a minute after the run."),
) -> None:
    """Run a load test with Locust (a master and WORKERS worker processes) against the profile's platforms.
    Exit 0 when the run completed, 3 when the stop bounds (error ratio, p95) stopped it, 2 on bad input
    or a refused target (nothing is sent).

    Example: mektepnet loadtest run --shape first-bell --students 5000 --duration 5m --headless
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from loadtests.launch import build_plan, launch

    options = _options(profile, shape, students, scale, duration, ramp, kind, workers, users, headless, confirm,
                       host, metrics_port, master_port, seed, run_dir, simulator)
    if not 0 <= remote_workers <= 10_000:
        raise CoreError.one("command line", "--remote-workers", remote_workers, "must be 0 to 10,000")
    if not 1 <= web_port <= 65535:
        raise CoreError.one("command line", "--web-port", web_port, "must be 1 to 65535")
    options = dataclasses.replace(options, remote_workers=remote_workers, master_bind_host=master_bind_host,
                                  metrics_host=metrics_host, web_port=web_port)
    chosen, targets = build_plan(options, _registry(registry))
    console.print(f"{chosen.shape.name}: {chosen.students:,} students over {chosen.duration_seconds:g} s, "
                  f"{max(1, workers)} process(es) x {users} senders"
                  + (f"; metrics on http://{metrics_host}:{metrics_port}/metrics" if metrics_port else "")
                  + ("" if headless else f"; web UI on http://127.0.0.1:{web_port}"))
    with Progress(TextColumn("[bold]load test"), BarColumn(), TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                  console=console.real(), transient=not sys.stdout.isatty()) as progress:
        task = progress.add_task("run", total=chosen.duration_seconds, state="")
        code, summary = launch(options, chosen, targets, lambda elapsed: progress.update(
            task, completed=min(elapsed, chosen.duration_seconds), state=f"{elapsed:.0f}/{chosen.duration_seconds:g} s"))
    if as_json:
        print(json.dumps(summary, indent=1))
    else:
        _show_summary(summary)
    if code:
        raise typer.Exit(code)


def _show_summary(summary: dict) -> None:
    from rich.table import Table

    table = Table(title=f"{summary['shape']}: {summary['students']:,} students, {summary['elapsed_seconds']:.0f} s "
                        "(latency from the intended send time)")
    for column in ("platform", "endpoint", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "MB"):
        table.add_column(column, justify="left" if column in ("platform", "endpoint") else "right")
    for entry in summary["entries"]:
        table.add_row(entry["platform"], entry["endpoint"], f"{entry['requests']:,}", f"{entry['failures']:,}",
                      f"{entry['p50_ms']:,.0f}", f"{entry['p95_ms']:,.0f}", f"{entry['p99_ms']:,.0f}",
                      f"{entry['bytes'] / 1e6:,.1f}")
    console.print(table)
    for name, first in summary["first_byte"].items():
        console.print(f"{name} streams: first byte p50 <= {first['p50_seconds']:g} s, p95 <= {first['p95_seconds']:g} s "
                      f"({first['count']:,} answers)")
    achieved = summary["sent"] / summary["intended"] if summary["intended"] else 0
    console.print(f"requests {summary['requests']:,}, failures {summary['failures']:,}; intended {summary['intended']:,}, "
                  f"sent {summary['sent']:,} ({achieved:.1%}); generator lag p50 <= {summary['lag_p50_seconds'] * 1000:g} ms, "
                  f"p99 <= {summary['lag_p99_seconds'] * 1000:g} ms")
    if summary["stopped"]:
        console.print(f"[red]stopped:[/red] {summary['stopped']}")


@app.command()
@refuses_bad_input
def worker(
    master_host: str = typer.Option(..., "--master-host", help="Address of the master (mektepnet loadtest run)."),
    master_port: int = typer.Option(5557, "--master-port", help="The master's port."),
    processes: int = typer.Option(1, "--processes", help="Worker processes to fork on this machine (-1: one per core)."),
) -> None:
    """Join a run on another machine as Locust worker process(es); the master sends the plan's options.

    Example: mektepnet loadtest worker --master-host 10.0.0.5 --processes -1
    """
    from loadtests.launch import locustfile

    if processes == 0 or processes < -1:
        raise CoreError.one("command line", "--processes", processes, "must be -1 (one per core) or at least 1")
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile()), "--worker",
            "--master-host", master_host, "--master-port", str(master_port), "--processes", str(processes)]
    os.execv(sys.executable, argv)
