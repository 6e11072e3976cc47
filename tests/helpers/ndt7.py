"""Running a real ndt7 server for tests: in this process (asyncio) or as a `mektepnet ndt7 serve` process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace

from probes.ndt7.server import Ndt7Server, ServerConfig
from tests.helpers.cli import ROOT


@contextmanager
def server_thread(config: ServerConfig = ServerConfig(port=0)):
    """A server on loopback in a background thread with its own event loop; yields (server, base URL)."""
    config = replace(config, port=0)
    server = Ndt7Server(config)
    started = threading.Event()
    state: dict = {}

    async def main() -> None:
        stop = asyncio.Event()
        state["stop"], state["loop"] = stop, asyncio.get_running_loop()
        async with server.running() as port:
            state["port"] = port
            started.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the ndt7 server did not start")
    try:
        yield server, f"{server.scheme}://127.0.0.1:{state['port']}"
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)


@contextmanager
def server_process(*args: str, namespace: str | None = None, host: str = "127.0.0.1"):
    """`mektepnet ndt7 serve` in a subprocess (optionally inside a network namespace); yields its base URL."""
    argv = [sys.executable, "-m", "cli", "ndt7", "serve", "--host", host, "--port", "0", *args]
    if namespace:
        argv = ["ip", "netns", "exec", namespace, *argv]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={"COLUMNS": "300", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    try:
        line = process.stdout.readline()
        match = re.search(r"(wss?://[\d.]+:\d+)", line)
        if not match:
            raise RuntimeError(f"ndt7 serve did not start: {line} {process.stderr.read() if process.poll() else ''}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)
