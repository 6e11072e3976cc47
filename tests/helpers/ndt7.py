"""Running a real ndt7 server for tests: in this process (asyncio) or as a `mektepnet ndt7 serve` process.

Both give a handle with the bound URL; nothing reads it out of the server's printed text.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from probes.ndt7.server import Ndt7Handle, Ndt7Server, ServerConfig
from probes.ndt7.tokens import TokenSigner, generate_key_pair
from tests.helpers.cli import ROOT


@dataclass(frozen=True)
class TokenKeys:
    """A fresh key pair of ndt7 access tokens: the files as keygen writes them, and a signer over the private one."""

    signing_key: Path
    public_key: Path
    signer: TokenSigner


def token_keys(directory: Path) -> TokenKeys:
    """Make a key pair in `directory`, as `mektepnet ndt7 keygen` does."""
    private_path, public_path = generate_key_pair(directory)
    return TokenKeys(private_path, public_path, TokenSigner.from_file(private_path))


@contextmanager
def server_thread(config: ServerConfig = ServerConfig()):
    """A server on a free loopback port in a background thread with its own event loop; yields its handle."""
    server = Ndt7Server(replace(config, port=0))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        handle: Ndt7Handle = asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        try:
            yield handle
        finally:
            asyncio.run_coroutine_threadsafe(handle.stop(), loop).result(20)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class ServerProcess:
    """`mektepnet ndt7 serve` running: its base URL (as the server wrote it to its --url-file) and the process."""

    url: str
    process: subprocess.Popen

    def stop(self) -> str:
        """Stop the server; returns what it printed (stdout and stderr)."""
        self.process.terminate()
        out, err = self.process.communicate(timeout=10)
        return out + err


@contextmanager
def server_process(*args: str, namespace: str | None = None, host: str = "127.0.0.1"):
    """`mektepnet ndt7 serve` in a subprocess (optionally inside a network namespace); yields a ServerProcess."""
    with tempfile.TemporaryDirectory(prefix="ndt7-url-") as directory:
        url_file = Path(directory) / "url"
        argv = [sys.executable, "-m", "cli", "ndt7", "serve", "--host", host, "--port", "0",
                "--url-file", str(url_file), *args]
        if namespace:
            argv = ["ip", "netns", "exec", namespace, *argv]
        process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={"COLUMNS": "300", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        running = ServerProcess("", process)
        try:
            while not url_file.exists():
                if process.poll() is not None:
                    raise RuntimeError(f"ndt7 serve did not start: {running.stop()}")
                time.sleep(0.02)
            running.url = url_file.read_text(encoding="utf-8").strip()
            yield running
        finally:
            if process.poll() is None:
                running.stop()
