"""Serving the platform simulator: in this process until interrupted, or in a child process behind a handle.

`start_simulator` binds the listening socket in a child process (multiprocessing, spawn), which sends
back the port it bound (port 0 picks a free one) through a pipe before it serves; the handle knows the
URL and stops the child. No one reads an announcement to learn where the simulator listens.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from loadtests.profile import Profile
from loadtests.simulator import Simulator

BACKLOG = 8192
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SimulatorConfig:
    """Where and how the simulator serves a profile (port 0: a free port)."""

    profile: Profile
    host: str = "127.0.0.1"
    port: int = 8780
    quarter_end: bool = False
    seed: int = 1


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv6 when the host is)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def serve(config: SimulatorConfig, sock: socket.socket | None = None) -> None:
    """Serve the simulator until interrupted (uvicorn, one event loop), on `sock` or on the config's host:port."""
    import uvicorn

    sock = sock or bind(config.host, config.port)
    server = uvicorn.Server(uvicorn.Config(Simulator(config.profile, config.quarter_end, config.seed),
                                           log_level="warning", access_log=False, http="httptools",
                                           backlog=BACKLOG, timeout_keep_alive=120, lifespan="off"))
    server.run(sockets=[sock])


def _child(config: SimulatorConfig, log_path: str | None, ready) -> None:
    if log_path:
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, sys.stdout.fileno())
        os.dup2(log, sys.stderr.fileno())
    try:
        sock = bind(config.host, config.port)
    except OSError as exc:
        ready.send(("error", f"cannot listen on {config.host}:{config.port}: {exc.strerror}"))
        return
    ready.send(("port", sock.getsockname()[1]))
    ready.close()
    serve(config, sock)


def _end(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(STOP_TIMEOUT_SECONDS)
    if process.is_alive():
        process.kill()
    process.join()


class SimulatorHandle:
    """A simulator serving in a child process: its base URL, and `stop()`."""

    def __init__(self, url: str, process: multiprocessing.process.BaseProcess):
        self.url, self._process = url, process

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS); its port is free afterwards."""
        _end(self._process)

    def __enter__(self) -> "SimulatorHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_simulator(config: SimulatorConfig, log_path: Path | None = None) -> SimulatorHandle:
    """Start the simulator in a child process; returns once it listens. RuntimeError when it cannot."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(config, str(log_path) if log_path else None, send),
                              name=f"platform-sim-{config.port}", daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(READY_TIMEOUT_SECONDS):
            raise RuntimeError(f"the platform simulator did not start on {config.host}:{config.port}"
                               + (f"; see {log_path}" if log_path else ""))
        kind, value = receive.recv()
    except EOFError:
        kind, value = "error", f"the platform simulator exited before listening on {config.host}:{config.port}"
    except RuntimeError:
        _end(process)
        raise
    finally:
        receive.close()
    if kind == "error":
        _end(process)
        raise RuntimeError(value + (f"; see {log_path}" if log_path else ""))
    host = f"[{config.host}]" if ":" in config.host else config.host
    return SimulatorHandle(f"http://{host}:{value}", process)
