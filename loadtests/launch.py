"""Start a load test: check the plan, then a Locust master and workers as child processes, and read the summary.

This module never imports locust (it monkey-patches the interpreter): it only builds command lines
for `python -m locust`, so the command that calls it stays a plain Python process. Everything is
checked before the first process starts: a refused target or a plan over the profile's limits
sends nothing. Every process is bounded: the master stops at the duration, and whatever is still
running `GRACE_SECONDS` later is killed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import CoreError
from core.registry import Registry
from loadtests.plan import Plan
from loadtests.profile import PlatformKind, load_profile
from loadtests.safety import approved_targets, is_loopback
from loadtests.shapes import group_sizes, registry_split, shape

LOCUSTFILES = Path(__file__).parent / "locustfiles"
GRACE_SECONDS = 60.0
WEB_UI_LINGER_SECONDS = 60
WORKERS_WAIT_SECONDS = 120
# Senders never finish their task (they serve due students until stopped): stop them at once.
STOP_TIMEOUT_SECONDS = 0


@dataclass(frozen=True)
class RunOptions:
    """What `mektepnet loadtest run` was asked for."""

    profile_path: Path | None
    shape: str
    duration_seconds: float
    students: int | None = None          # explicit; else the registry's students times `scale`
    scale: float = 0.001
    ramp_seconds: float | None = None
    kinds: frozenset[PlatformKind] | None = None
    workers: int = 2                     # worker processes; 0 runs the users in one local process
    users_per_worker: int = 200          # the pool of senders in each process
    headless: bool = True
    confirm_targets: tuple[str, ...] = ()
    target: str | None = None
    metrics_port: int = 9650
    master_port: int = 5557
    web_port: int = 8089
    seed: int = 1
    run_dir: Path = field(default_factory=lambda: Path.cwd() / "loadtest-run")
    simulator: bool = True               # start the platform simulator on loopback targets where nothing listens
    remote_workers: int = 0              # workers joining from other machines (mektepnet loadtest worker)
    master_bind_host: str = "127.0.0.1"  # where workers reach the master; another machine needs a LAN address
    metrics_host: str = "127.0.0.1"      # where the master serves /metrics (0 for metrics_port: none)


def build_plan(options: RunOptions, registry: Registry) -> tuple[Plan, list[str]]:
    """The plan and the approved targets; CoreError when the target is refused or the plan breaks a limit."""
    profile = load_profile(options.profile_path)
    targets = approved_targets(profile, list(options.confirm_targets), options.target)
    chosen = shape(options.shape)
    split = registry_split(registry, options.scale)
    sizes = group_sizes(chosen, split, options.students)
    if sum(sizes.values()) <= 0:
        raise CoreError.one("command line", "--students", options.students or 0, "the run has no students")
    total = sum(split.by_region.values()) or 1
    regions = {region: round(count * sum(sizes.values()) / total) for region, count in split.by_region.items()}
    plan = Plan(profile, chosen, tuple(sizes.values()), options.duration_seconds, options.ramp_seconds,
                options.kinds, regions)
    plan.check_limits()
    return plan, targets


def locustfile() -> Path:
    """The locustfile every run uses (kinds are chosen by option), so remote workers need no other."""
    return LOCUSTFILES / "all.py"


def commands(options: RunOptions, plan: Plan) -> tuple[list[str], list[list[str]]]:
    """The master's (or the single local process's) command line and each worker's."""
    file = str(locustfile())
    workers = options.workers
    shared = ["--mektep-profile", str(options.profile_path or ""), "--mektep-shape", plan.shape.name,
              "--mektep-group-sizes", ",".join(str(size) for size in plan.group_sizes),
              "--mektep-duration", f"{plan.duration_seconds:g}", "--mektep-seed", str(options.seed)]
    if options.ramp_seconds is not None:
        shared += ["--mektep-ramp", f"{options.ramp_seconds:g}"]
    if options.kinds:
        shared += ["--mektep-kinds", ",".join(sorted(kind.value for kind in options.kinds))]
    for host in options.confirm_targets:
        shared += ["--mektep-confirm-target", host]
    if options.target:
        shared += ["--host", options.target]
    expected = workers + options.remote_workers
    users = options.users_per_worker * max(1, expected)
    master = [sys.executable, "-m", "locust", "-f", file, *shared,
              "-u", str(users), "-r", str(users), "-t", f"{int(plan.duration_seconds)}s",
              "--stop-timeout", str(STOP_TIMEOUT_SECONDS), "--exit-code-on-error", "0",
              "--mektep-metrics-port", str(options.metrics_port), "--mektep-metrics-host", options.metrics_host,
              "--mektep-summary", str(options.run_dir / "summary.json"),
              "--logfile", str(options.run_dir / "master.log"), "--loglevel", "INFO"]
    if options.headless:
        master += ["--headless", "--only-summary"]
    else:
        # The web UI starts the run at once and stays a minute after it for a look at the charts.
        master += ["--web-host", "127.0.0.1", "--web-port", str(options.web_port), "--autostart", "--autoquit",
                   str(WEB_UI_LINGER_SECONDS)]
    if expected:
        master += ["--master", "--master-bind-host", options.master_bind_host, "--master-bind-port",
                   str(options.master_port), "--expect-workers", str(expected), "--expect-workers-max-wait", str(WORKERS_WAIT_SECONDS)]
    # Local workers reach the master where it listens (loopback when it listens everywhere).
    master_host = "127.0.0.1" if options.master_bind_host in ("0.0.0.0", "::", "*") else options.master_bind_host
    worker_commands = [[sys.executable, "-m", "locust", "-f", file, *shared, "--worker",
                        "--master-host", master_host, "--master-port", str(options.master_port),
                        "--logfile", str(options.run_dir / f"worker-{index}.log"), "--loglevel", "INFO"]
                       for index in range(workers)]
    return master, worker_commands


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def start_simulators(options: RunOptions, plan: Plan, targets: list[str]) -> list[subprocess.Popen]:
    """The platform simulator on each loopback target where nothing listens (quarter-end shapes slow it down)."""
    started = []
    for target in targets:
        parts = urlsplit(target)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        if not options.simulator or not is_loopback(host) or _listening(host, port):
            continue
        argv = [sys.executable, "-m", "cli", "platform-sim", "serve", "--host", host, "--port", str(port)]
        if options.profile_path:
            argv += ["--profile", str(options.profile_path)]
        if plan.shape.quarter_end:
            argv.append("--quarter-end")
        log = open(options.run_dir / f"simulator-{port}.log", "w", encoding="utf-8")
        started.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while not _listening(host, port):
            if time.monotonic() > deadline or started[-1].poll() is not None:
                _stop(started)
                raise RuntimeError(f"the platform simulator did not start on {target}; see {log.name}")
            time.sleep(0.2)
    return started


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def launch(options: RunOptions, plan: Plan, targets: list[str],
           tick: Callable[[float], None] = lambda elapsed: None) -> tuple[int, dict]:
    """Run the master and workers to the end; (the master's exit code, the summary). `tick` sees seconds elapsed."""
    options.run_dir.mkdir(parents=True, exist_ok=True)
    summary_path = options.run_dir / "summary.json"
    summary_path.unlink(missing_ok=True)
    master_argv, worker_argvs = commands(options, plan)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    simulators = start_simulators(options, plan, targets)
    output = open(options.run_dir / "locust.out", "w", encoding="utf-8")
    processes = [subprocess.Popen(master_argv, stdout=output, stderr=subprocess.STDOUT, env=environment)]
    processes += [subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=environment)
                  for argv in worker_argvs]
    started = time.monotonic()
    deadline = (started + plan.duration_seconds + GRACE_SECONDS + (0 if options.headless else WEB_UI_LINGER_SECONDS)
                + (WORKERS_WAIT_SECONDS if worker_argvs or options.remote_workers else 0))
    try:
        while processes[0].poll() is None and time.monotonic() < deadline:
            tick(time.monotonic() - started)
            time.sleep(0.5)
    finally:
        _stop(processes)
        _stop(simulators)
        output.close()
    code = processes[0].returncode
    if not summary_path.exists():
        tail = (options.run_dir / "locust.out").read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"the Locust master exited with {code} and wrote no summary; its output ends:\n{tail}")
    return code, json.loads(summary_path.read_text(encoding="utf-8"))
