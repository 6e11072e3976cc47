"""The SNMP tests' shared agent: one real net-snmp snmpd per test module, on a free loopback UDP port."""

from __future__ import annotations

import pytest

from tests.helpers.snmpd import snmpd


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """A running snmpd (v2c community and v3 authPriv user) for the whole module."""
    with snmpd(tmp_path_factory.mktemp("snmpd")) as running:
        yield running
