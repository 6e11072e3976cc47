"""The demo's child processes: each in a process group of its own, all of them ended when the demo ends.

A child started here never outlives the demo: `Children.stop_all()` (called in a `finally`) sends
SIGTERM to every group, waits, then SIGKILLs what is left, grandchildren included (Locust's workers,
the simulator's spawned server). Every child carries MARKER in its environment, so a test can find
any process the demo left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

MARKER = "MEKTEPNET_DEMO_RUN"          # environment variable naming the demo's output folder
STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the kernel's choice, released for the child)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def cli(*arguments: str) -> list[str]:
    """The argv of `mektepnet ARGUMENTS` run by this interpreter."""
    return [sys.executable, "-m", "cli", *arguments]


class Children:
    """The processes the demo started; `stop_all()` ends every one of them and their descendants."""

    def __init__(self, out: Path):
        self.out = out
        self.logs = out / "logs"
        self._started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], stdout: int | None = None) -> subprocess.Popen:
        """Start `argv` in a new session (its own process group); stderr (and stdout unless PIPE) to logs/NAME.log."""
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, MARKER: str(self.out.resolve()), "PYTHONUNBUFFERED": "1"}
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout or log, stderr=log, env=env,
                                       cwd=Path(__file__).resolve().parents[2], start_new_session=True)
        self._started.append((name, process))
        return process

    def wait(self, process: subprocess.Popen, tick: Callable[[float], None], every_seconds: float = 3.0) -> int:
        """Wait for `process`, calling `tick(elapsed_seconds)` every few seconds meanwhile; its exit code."""
        started = time.monotonic()
        while True:
            try:
                return process.wait(every_seconds)
            except subprocess.TimeoutExpired:
                tick(time.monotonic() - started)

    def wait_listening(self, process: subprocess.Popen, port: int, name: str, seconds: float = 60.0) -> None:
        """Return once the child accepts connections on `port`; RuntimeError if it exits or takes too long."""
        deadline = time.monotonic() + seconds
        while not listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {self.logs / (name + '.log')}")
            time.sleep(0.1)

    def stop(self, process: subprocess.Popen) -> None:
        """End one child's process group: SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS."""
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process, signal.SIGKILL)     # whatever the group still holds (grandchildren)
        process.wait()

    def stop_all(self) -> None:
        """End every child started here, the last started first."""
        while self._started:
            _, process = self._started.pop()
            self.stop(process)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
