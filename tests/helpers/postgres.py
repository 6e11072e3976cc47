"""A throw-away PostgreSQL cluster for tests (the Debian package's binaries), one database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.ports import free_port
from tests.helpers.tools import require_tool

_DATABASES = itertools.count()


def _binaries() -> Path:
    for version in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (version / "pg_ctl").exists():
            return version
    require_tool("pg_ctl")               # skips locally, fails under CI
    return Path(shutil.which("pg_ctl")).parent


def _as_postgres(*argv: str) -> list[str]:
    """Run as the `postgres` system user when we are root (the server refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


class PostgresCluster:
    """A running cluster on a free loopback port; `database()` makes a fresh database and returns its URL."""

    def __init__(self, port: int, control: list[str] | None = None):
        self.port = port
        self._control = control or []          # pg_ctl -D data -o options -l log, as it was started

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: as if it crashed; it recovers from its WAL on start)."""
        subprocess.run(_as_postgres(*self._control[:3], "-m", mode, "-w", "stop"), check=True, capture_output=True)

    def start(self) -> None:
        """Start the stopped server again and wait until it accepts connections."""
        subprocess.run(_as_postgres(*self._control, "-w", "start"), check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        import psycopg

        name = f"mektepnet_test_{os.getpid()}_{next(_DATABASES)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def conf_settings(path: Path) -> dict[str, str]:
    """The `name = value` lines of a postgresql.conf fragment (comments dropped)."""
    settings = {}
    for line in path.read_text().splitlines():
        name, _, value = line.split("#", 1)[0].partition("=")
        if value.strip():
            settings[name.strip()] = value.strip()
    return settings


@contextmanager
def postgres_cluster(durable: bool = False, settings: dict[str, str] | None = None):
    """initdb + pg_ctl start in a temporary directory (trust auth, loopback only); stopped and removed after.

    Tests run with fsync off (speed); `durable=True` keeps PostgreSQL's durable defaults, for benchmarks;
    `settings` are passed as `-c name=value`."""
    binaries = _binaries()
    directory = Path(tempfile.mkdtemp(prefix="mektepnet-pg-"))
    data = directory / "data"
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                "--no-sync"), check=True, capture_output=True)
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1" + ("" if durable else " -c fsync=off")
    options += "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
    control = [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(directory / "log")]
    subprocess.run(_as_postgres(*control, "-w", "start"), check=True, capture_output=True)
    try:
        cluster = PostgresCluster(port, control)
        deadline = time.monotonic() + 30
        while True:
            try:
                cluster.database()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield cluster
    finally:
        subprocess.run(_as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)
