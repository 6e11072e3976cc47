"""`mektepnet loadtest`: plan and run Locust load tests of the education platforms (open model, distributed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from cli.common import console, refuses_bad_input
from core.errors import CoreError

app = typer.Typer(no_args_is_help=True, help="Load tests of the platforms: a country of students, with Locust.")

# The command-line option that sets each field of loadtests.options.RunOptions (errors name the option).
OPTION_NAMES = {"profile": "--profile", "registry": "--registry", "shape": "--shape", "duration_seconds": "--duration",
                "students": "--students", "scale": "--scale", "ramp_seconds": "--ramp", "kinds": "--kind",
                "workers": "--workers", "users_per_worker": "--users-per-worker", "remote_workers": "--remote-workers",
                "headless": "--headless", "confirm_targets": "--confirm-target", "target": "--host",
                "metrics_port": "--metrics-port", "metrics_host": "--metrics-host", "master_port": "--master-port",
                "master_bind_host": "--master-bind-host", "web_port": "--web-port", "seed": "--seed",
                "run_dir": "--run-dir", "simulator": "--simulator"}


def _options(path: Path | None, **given):
    """The run's options: the --options file, then what was given on the command line."""
    from loadtests.options import run_options

    return run_options(path, given, OPTION_NAMES)


def _registry(path: Path | None):
    if path is not None:
        from core.registry import load_registry

        return load_registry(path)
    from core.synthetic import generate_registry

    return generate_registry(7500, 1)


OPTIONS = typer.Option(None, "--options", help="Run options (YAML, keys as in deploy/loadtest.example.yaml); "
                       "options given on the command line override it.")
PROFILE = typer.Option(None, "--profile", help="Platform profile (YAML), or a shipped one by name: local (the "
                       "default: the national platforms on the simulator) or readiness (three small declared capacities).")
SHAPE = typer.Option(None, "--shape", help="first-bell (default), second-shift, quarter-end, new-platform or steady.")
STUDENTS = typer.Option(None, "--students", help="Students in the run (default: the registry's, times --scale).")
SCALE = typer.Option(None, "--scale", help="Factor on the registry's students per shift and region (default 0.001).")
REGISTRY = typer.Option(None, "--registry", help="School registry for the students per shift and region "
                        "(default: a synthetic national one).")
DURATION = typer.Option(None, "--duration", help="How long the run lasts; the shape is laid on it (e.g. 90s, 10m; "
                        "default 10m).")
RAMP = typer.Option(None, "--ramp", help="steady shape: seconds over which students arrive (default: a quarter).")
KIND = typer.Option(None, "--kind", help="Only these platform kinds: ediary, video, testing, tutor (comma-separated).")


@app.command()
@refuses_bad_input
def plan(options_file: Path = OPTIONS, profile: Path = PROFILE, shape: str = SHAPE, students: int = STUDENTS,
         scale: float = SCALE, registry: Path = REGISTRY, duration: str = DURATION, ramp: float = RAMP,
         kind: str = KIND,
         readiness: list[Path] = typer.Option(None, "--readiness", help="A result of `loadtest readiness` "
                                              "(readiness.json); repeat for several platforms."),
         ready_rps: list[str] = typer.Option(None, "--ready-rps", help="A stated readiness, NAME=REQUESTS_PER_SECOND; "
                                             "repeat for several platforms.")) -> None:
    """Show what a run would do, without sending anything (so the run caps do not apply): students per
    group and region, the curve of students in session, and the capacity plan: each platform's peak
    demand in real time, its readiness against it, and the load-generator fleet that rehearses it.

    Example: mektepnet loadtest plan --shape first-bell --scale 1 --ready-rps kundelik=20000
    """
    from loadtests.capacityplan import demands, fleet_for, show_capacity, stated_rates
    from loadtests.document import build_document
    from loadtests.readiness import read_readiness

    options = _options(options_file, profile=profile, shape=shape, students=students, scale=scale, registry=registry,
                       duration_seconds=duration, ramp_seconds=ramp, kinds=kind)
    document = build_document(options, _registry(options.registry), check_limits=False)
    chosen = document.plan()
    ready = {result.platform: result.requests_per_second for result in map(read_readiness, readiness or [])}
    ready.update(stated_rates(ready_rps or [], chosen.platforms))
    _show_plan(chosen, list(document.targets))
    show_capacity(console, demands(chosen), ready, fleet_for(chosen), chosen.shape.window)


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
    cap = chosen.profile.limits.max_requests_per_second
    console.print(f"peak intended rate ~{peak_rate:,.0f} requests/s over {chosen.duration_seconds:g} s "
                  f"(run cap {cap:,.0f}{'; a run this size is refused' if peak_rate > cap else ''}); "
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
    options_file: Path = OPTIONS, profile: Path = PROFILE, shape: str = SHAPE, students: int = STUDENTS,
    scale: float = SCALE, registry: Path = REGISTRY, duration: str = DURATION, ramp: float = RAMP, kind: str = KIND,
    workers: int = typer.Option(None, "--workers", help="Locust worker processes on this machine (0: one local "
                                "process; default 2)."),
    users: int = typer.Option(None, "--users-per-worker", help="Senders per process: requests in flight at most "
                              "(default 200)."),
    headless: bool = typer.Option(None, "--headless", help="No web UI; print the results at the end."),
    confirm: list[str] = typer.Option(None, "--confirm-target", help="Confirm a non-loopback host named in the "
                                      "profile's allow_hosts (repeat for several)."),
    host: str = typer.Option(None, "--host", help="Aim at this base URL instead of the profile's targets."),
    metrics_port: int = typer.Option(None, "--metrics-port", help="Prometheus metrics of the run (master); 0: none "
                                     "(default 9650)."),
    master_port: int = typer.Option(None, "--master-port", help="Port the master listens on for workers "
                                    "(default 5557)."),
    seed: int = typer.Option(None, "--seed", help="Random seed of the journeys' pauses (default 1)."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Where plan.json, summary.json and the logs go "
                                 "(default ./loadtest-run)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    simulator: bool = typer.Option(None, "--simulator/--no-simulator", help="Start the platform simulator on "
                                   "loopback targets where nothing listens (default; quarter-end shapes slow it down)."),
    remote_workers: int = typer.Option(None, "--remote-workers", help="Also wait for this many workers from other "
                                       "machines (mektepnet loadtest worker); see docs/loadtest.md."),
    master_bind_host: str = typer.Option(None, "--master-bind-host", help="Address the master listens on for workers "
                                         "(default 127.0.0.1; a LAN address when workers join from other machines)."),
    metrics_host: str = typer.Option(None, "--metrics-host", help="Address of the metrics listener (default 127.0.0.1)."),
    web_port: int = typer.Option(None, "--web-port", help="Locust's web UI on loopback (without --headless; default "
                                 "8089); it stays a minute after the run."),
) -> None:
    """Run a load test with Locust (a master and WORKERS worker processes) against the profile's platforms.
    Options come from --options FILE (YAML), the command line overriding it. Exit 0 when the run
    completed, 3 when the stop bounds (error ratio, p95) stopped it, 2 on bad input or a refused target
    (nothing is sent).

    Example: mektepnet loadtest run --shape first-bell --students 5000 --duration 5m --headless
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from loadtests.document import build_document
    from loadtests.launch import launch

    options = _options(options_file, profile=profile, shape=shape, students=students, scale=scale, registry=registry,
                       duration_seconds=duration, ramp_seconds=ramp, kinds=kind, workers=workers,
                       users_per_worker=users, headless=headless, confirm_targets=tuple(confirm) if confirm else None,
                       target=host, metrics_port=metrics_port, master_port=master_port, seed=seed, run_dir=run_dir,
                       simulator=simulator, remote_workers=remote_workers, master_bind_host=master_bind_host,
                       metrics_host=metrics_host, web_port=web_port)
    document = build_document(options, _registry(options.registry))
    console.print(f"{document.shape}: {sum(document.group_sizes):,} students over {document.duration_seconds:g} s, "
                  f"{max(1, options.workers)} process(es) x {options.users_per_worker} senders"
                  + (f"; metrics on http://{options.metrics_host}:{options.metrics_port}/metrics"
                     if options.metrics_port else "")
                  + ("" if options.headless else f"; web UI on http://127.0.0.1:{options.web_port}"))
    seconds = document.duration_seconds
    with Progress(TextColumn("[bold]load test"), BarColumn(), TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                  console=console.real(), transient=not sys.stdout.isatty()) as progress:
        task = progress.add_task("run", total=seconds, state="")
        code, summary = launch(options, document, lambda elapsed: progress.update(
            task, completed=min(elapsed, seconds), state=f"{elapsed:.0f}/{seconds:g} s"))
    if as_json:
        print(summary.model_dump_json(indent=1))
    else:
        show_summary(summary)
    if code:
        raise typer.Exit(code)


def show_summary(summary) -> None:
    """Print a run's summary (loadtests.summary.Summary) as tables and lines."""
    from rich.table import Table

    table = Table(title=f"{summary.shape}: {summary.students:,} students, {summary.elapsed_seconds:.0f} s "
                        "(latency from the intended send time)")
    for column in ("platform", "endpoint", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "MB"):
        table.add_column(column, justify="left" if column in ("platform", "endpoint") else "right")
    for entry in summary.entries:
        table.add_row(entry.platform, entry.endpoint, f"{entry.requests:,}", f"{entry.failures:,}",
                      f"{entry.p50_ms:,.0f}", f"{entry.p95_ms:,.0f}", f"{entry.p99_ms:,.0f}",
                      f"{entry.bytes / 1e6:,.1f}")
    console.print(table)
    for name, first in summary.first_byte.items():
        console.print(f"{name} streams: first byte p50 <= {first.p50_seconds:g} s, p95 <= {first.p95_seconds:g} s "
                      f"({first.count:,} answers)")
    console.print(f"requests {summary.requests:,}, failures {summary.failures:,}; intended {summary.intended:,}, "
                  f"sent {summary.sent:,} ({summary.achieved_ratio:.1%}); generator lag p50 <= "
                  f"{summary.lag_p50_seconds * 1000:g} ms, p99 <= {summary.lag_p99_seconds * 1000:g} ms")
    if summary.stop.broke_a_bound:
        console.print(f"[red]stopped:[/red] {summary.stop.describe()}")
    else:
        console.print(f"ended: {summary.stop.describe()}")


@app.command()
@refuses_bad_input
def worker(
    master_host: str = typer.Option(..., "--master-host", help="Address of the master (mektepnet loadtest run)."),
    master_port: int = typer.Option(5557, "--master-port", help="The master's port."),
    processes: int = typer.Option(1, "--processes", help="Worker processes to fork on this machine (-1: one per core)."),
) -> None:
    """Join a run on another machine as Locust worker process(es); the master sends the plan document.

    Example: mektepnet loadtest worker --master-host 10.0.0.5 --processes -1
    """
    from loadtests.launch import locustfile

    if processes == 0 or processes < -1:
        raise CoreError.one("command line", "--processes", processes, "must be -1 (one per core) or at least 1")
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile()), "--worker",
            "--master-host", master_host, "--master-port", str(master_port), "--processes", str(processes)]
    os.execv(sys.executable, argv)


@app.command()
@refuses_bad_input
def readiness(
    platform: str = typer.Option(..., "--platform", help="The profile's platform to find the readiness of."),
    slo: str = typer.Option("p95<800ms,errors<1%", "--slo", help="Bounds it must stay within: p50/p95/p99<TIME, "
                            "errors<PERCENT, comma-separated."),
    profile: Path = PROFILE,
    budget: str = typer.Option("5m", "--budget", help="Time for the whole search (e.g. 90s, 5m)."),
    start_rps: float = typer.Option(None, "--start-rps", help="First step's arrival rate (default: an eighth of the "
                                    "highest rate the profile's caps allow)."),
    lowest_rps: float = typer.Option(None, "--lowest-rps", help="Lowest step (default: an eighth of the start)."),
    hold: float = typer.Option(None, "--hold", help="Seconds measured per step after its warm-up (default: from "
                               "the budget)."),
    workers: int = typer.Option(0, "--workers", help="Locust worker processes (0: one local process)."),
    users: int = typer.Option(None, "--users-per-worker", help="Senders per process (default: enough for the rate)."),
    host: str = typer.Option(None, "--host", help="Aim at this base URL instead of the profile's targets."),
    confirm: list[str] = typer.Option(None, "--confirm-target", help="Confirm a non-loopback host of allow_hosts."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the journeys' pauses and the simulator."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Where readiness.json, readiness.png, readiness.prom and "
                                 "each step's run go (default ./readiness-PLATFORM)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Find the highest arrival rate PLATFORM sustains within the SLO: steps of the open model bracket
    the knee and narrow it; the result has a 95 % interval, the curve, the students it means (Little's
    law) and its share of the country's first-bell peak. Exit 0 with a knee (or met up to the caps),
    3 when the SLO is broken already at the lowest step, 4 when the generator was the limit or the
    budget ran out first, 2 on bad input (nothing is sent).

    Example: mektepnet loadtest readiness --platform kundelik --slo "p95<800ms,errors<1%" --budget 5m
    """
    from loadtests.options import parse_run_length
    from loadtests.readiness import FinderSettings, Request, Verdict, find_readiness, prepare, write_readiness
    from loadtests.readiness.report import METRICS_FILE, show, write_chart, write_metrics
    from loadtests.slo import parse_slo

    try:
        budget_seconds = parse_run_length(budget)
    except ValueError as exc:
        raise CoreError.one("command line", "--budget", budget, str(exc)) from None
    for option, value, low in (("--workers", workers, 0), ("--users-per-worker", users, 1), ("--hold", hold, 2)):
        if value is not None and value < low:
            raise CoreError.one("command line", option, value, f"must be at least {low}")
    run_dir = run_dir or Path(f"readiness-{platform}")
    request = Request(platform, parse_slo(slo), profile, run_dir, seed, workers, users, host, tuple(confirm or ()))
    settings = FinderSettings(budget_seconds, start_rps, lowest_rps, hold_seconds=hold)
    prepared = prepare(request, settings, _registry(None))
    console.print(f"{platform}: steps of {prepared.context.timing.warm_up_seconds:.0f} s warm-up + "
                  f"{prepared.context.timing.hold_seconds:.0f} s measured, up to {prepared.ceiling_rps:,.0f} "
                  f"requests/s (the profile's caps), within {budget_seconds:g} s; runs in {run_dir}")
    result = find_readiness(prepared, lambda step: console.print(
        f"  {step.intended_rps:9,.1f} req/s: p95 {step.p95_seconds * 1000:,.0f} ms, errors {step.error_ratio:.2%}, "
        f"lag p99 {step.lag_p99_seconds * 1000:g} ms -> {step.status.value}", highlight=False))
    write_readiness(result, run_dir / "readiness.json")
    write_chart(result, run_dir / "readiness.png")
    write_metrics([result], run_dir / METRICS_FILE)
    if as_json:
        print(result.model_dump_json(indent=1))
    else:
        show(result, console)
        console.print(f"written: {run_dir / 'readiness.json'}, {run_dir / 'readiness.png'}, {run_dir / METRICS_FILE}")
    codes = {Verdict.KNEE: 0, Verdict.ABOVE_CAP: 0, Verdict.BROKEN_AT_LOWEST: 3}
    if codes.get(result.verdict, 4):
        raise typer.Exit(codes.get(result.verdict, 4))
