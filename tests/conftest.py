"""Shared fixtures: the shipped calendar, the hand-written three-school registry, and one temporary
directory for everything the session's helpers, benchmarks and subprocesses put in the system's."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from core.registry import Registry, load_registry
from core.school_calendar import SchoolCalendar
from tests.helpers.cli import FIXTURES


@pytest.fixture(scope="session", autouse=True)
def session_temp_directory(tmp_path_factory):
    """Point tempfile and TMPDIR of this session (and of the processes it starts) at one directory, removed
    at the end: helpers and benchmarks that make their own (mektepnet-pg-*, mektepnet-probe-*,
    mektepnet-ingest-*) leave nothing behind. It is world-readable, as those helpers need; pytest's own
    tmp_path stays where pytest keeps it (the last runs, for a look after a failure)."""
    tmp_path_factory.getbasetemp()                     # fixed before the system's temporary directory moves
    directory = tempfile.mkdtemp(prefix="mektepnet-tests-")
    os.chmod(directory, 0o755)
    before, before_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = directory, directory
    yield directory
    tempfile.tempdir = before
    if before_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before_env
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def calendar() -> SchoolCalendar:
    """The calendar shipped with MektepNet."""
    return SchoolCalendar.load()


@pytest.fixture(scope="session")
def small_registry() -> Registry:
    """Three hand-written schools: KZ-001 city, KZ-002 rural (6-day week), KZ-003 ungraded."""
    return load_registry(FIXTURES / "registry" / "valid.csv")


@pytest.fixture
def network_namespaces():
    """Root and the network tools that NetworkPath needs (skipped without root; tools required in CI)."""
    import os

    from tests.helpers.tools import require_tool

    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "tc", "iptables", "ethtool", "setpriv"):
        require_tool(tool)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the whole session (started on first use)."""
    from tests.helpers.postgres import postgres_cluster

    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store on each engine: a SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("postgres").database()
