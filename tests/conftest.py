"""Shared fixtures: the shipped calendar and the hand-written three-school registry."""

from __future__ import annotations

import pytest

from core.registry import Registry, load_registry
from core.school_calendar import SchoolCalendar
from tests.helpers.cli import FIXTURES


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
