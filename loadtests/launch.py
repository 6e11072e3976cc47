"""Start a load test: a Locust master and workers as child processes on one plan document, and read the summary.

This module never imports locust (it monkey-patches the interpreter): it only builds command lines
for `python -m locust`, so the command that calls it stays a plain Python process. The plan document
is built and checked before the first process starts (`loadtests.document.build_document`): a refused
target or a plan over the profile's limits sends nothing. The master reads the document; workers,
local or remote, get it from the master. Every process is bounded: the master stops at the duration,
and whatever is still running `GRACE_SECONDS` later is killed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from loadtests.document import PLAN_FILE, PlanDocument, write_plan_document
from loadtests.options import RunOptions
from loadtests.safety import is_loopback
from loadtests.serving import SimulatorConfig, SimulatorHandle, start_simulator
from loadtests.summary import Summary

LOCUSTFILES = Path(__file__).parent / "locustfiles"
GRACE_SECONDS = 60.0
WEB_UI_LINGER_SECONDS = 60
WORKERS_WAIT_SECONDS = 120
# Senders never finish their task (they serve due students until stopped): stop them at once.
STOP_TIMEOUT_SECONDS = 0


def locustfile() -> Path:
    """The locustfile every run uses (kinds are in the plan document), so remote workers need no other."""
    return LOCUSTFILES / "all.py"


def commands(options: RunOptions, document: PlanDocument) -> tuple[list[str], list[list[str]]]:
    """The master's (or the single local process's) command line and each local worker's."""
    file = str(locustfile())
    workers = options.workers
    expected = workers + options.remote_workers
    users = options.users_per_worker * max(1, expected)
    master = [sys.executable, "-m", "locust", "-f", file, "--mektep-plan", str(options.run_dir / PLAN_FILE),
              "-u", str(users), "-r", str(users), "-t", f"{int(document.duration_seconds)}s",
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
    worker_commands = [[sys.executable, "-m", "locust", "-f", file, "--worker",
                        "--master-host", master_host, "--master-port", str(options.master_port),
                        "--logfile", str(options.run_dir / f"worker-{index}.log"), "--loglevel", "INFO"]
                       for index in range(workers)]
    return master, worker_commands


def listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at host:port (within a second)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def start_simulators(options: RunOptions, document: PlanDocument) -> list[SimulatorHandle]:
    """The platform simulator on each loopback target where nothing listens (quarter-end shapes slow it down)."""
    started: list[SimulatorHandle] = []
    for target in document.targets:
        parts = urlsplit(target)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        if not options.simulator or not is_loopback(host) or listening(host, port):
            continue
        config = SimulatorConfig(profile=document.profile, host=host, port=port,
                                 quarter_end=document.plan().shape.quarter_end)
        try:
            started.append(start_simulator(config, options.run_dir / f"simulator-{port}.log"))
        except RuntimeError:
            _stop_simulators(started)
            raise
    return started


def _stop_simulators(handles: list[SimulatorHandle]) -> None:
    for handle in handles:
        handle.stop()


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


def launch(options: RunOptions, document: PlanDocument,
           tick: Callable[[float], None] = lambda elapsed: None) -> tuple[int, Summary]:
    """Run the master and workers to the end; (the master's exit code, the summary). `tick` sees seconds elapsed."""
    options.run_dir.mkdir(parents=True, exist_ok=True)
    summary_path = options.run_dir / "summary.json"
    summary_path.unlink(missing_ok=True)
    write_plan_document(document, options.run_dir / PLAN_FILE)
    master_argv, worker_argvs = commands(options, document)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    simulators = start_simulators(options, document)
    output = open(options.run_dir / "locust.out", "w", encoding="utf-8")
    processes = [subprocess.Popen(master_argv, stdout=output, stderr=subprocess.STDOUT, env=environment)]
    processes += [subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=environment)
                  for argv in worker_argvs]
    started = time.monotonic()
    deadline = (started + document.duration_seconds + GRACE_SECONDS
                + (0 if options.headless else WEB_UI_LINGER_SECONDS)
                + (WORKERS_WAIT_SECONDS if worker_argvs or options.remote_workers else 0))
    try:
        while processes[0].poll() is None and time.monotonic() < deadline:
            tick(time.monotonic() - started)
            time.sleep(0.5)
    finally:
        _stop(processes)
        _stop_simulators(simulators)
        output.close()
    code = processes[0].returncode
    if not summary_path.exists():
        tail = (options.run_dir / "locust.out").read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"the Locust master exited with {code} and wrote no summary; its output ends:\n{tail}")
    return code, Summary.model_validate_json(summary_path.read_text(encoding="utf-8"))
