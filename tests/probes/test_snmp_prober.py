"""The probe's `snmp` prober against a real snmpd: the uplink's record, and its failures as records."""

from __future__ import annotations

import asyncio

import pytest

from core.measurement import Kind
from probes.config import Module, SnmpModule
from probes.context import ProbeContext
from probes.probers import run_prober
from tests.helpers.snmpd import free_udp_port, snmpd
from tests.helpers.traffic import loopback_traffic


def context_for(school_id: str) -> ProbeContext:
    return ProbeContext(school_id, f"p-{school_id.lower()}")


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    with snmpd(tmp_path_factory.mktemp("snmpd")) as running:
        yield running


def test_the_uplink_record_has_rates_from_the_first_call_and_utilisation_against_the_contract(agent):
    module = Module(snmp=SnmpModule(community=agent.community, uplink="lo", contracted_bps=8e6,
                                    first_interval_seconds=1))
    context = context_for("KZ-001")

    async def main():
        first = await run_prober("snmp", f"127.0.0.1:{agent.port}", module, context)
        loopback_traffic(5)
        await asyncio.sleep(1)
        return first, await run_prober("snmp", f"127.0.0.1:{agent.port}", module, context)

    [first], [second] = asyncio.run(main())
    for record in (first, second):
        assert record.kind is Kind.SNMP and record.error is None and record.method == "snmp-v2c"
        assert record.values["oper_up"] == 1.0 and record.values["in_bps"] >= 0
        assert record.values["in_utilisation_ratio"] == pytest.approx(record.values["in_bps"] / 8e6)
        assert record.attributes["uplink"] == "lo" and record.attributes["counter_bits"] == "64"
    assert 0.9 <= first.values["interval_seconds"] <= 3                     # two readings in the first call
    assert second.values["interval_seconds"] >= 1


@pytest.mark.parametrize("settings, words", [
    ({"uplink": None}, "modules.snmp.uplink is not set"),
    ({"uplink": "ge-0/0/9"}, "modules.snmp.uplink='ge-0/0/9': no such port (the router has lo"),
    ({"uplink": "lo", "community": "wrong-community"}, "No SNMP response"),
])
def test_failures_become_records_that_say_why(agent, settings, words):
    module = Module(snmp=SnmpModule(**({"community": agent.community, "timeout_seconds": 0.5, "retries": 0}
                                       | settings)))
    [record] = asyncio.run(run_prober("snmp", f"127.0.0.1:{agent.port}", module, context_for("KZ-001")))
    assert record.kind is Kind.SNMP and words in record.error and record.values == {}


def test_a_router_that_is_not_there_is_a_record_not_a_crash():
    module = Module(snmp=SnmpModule(uplink="ge-0/0/0", timeout_seconds=0.3, retries=0))
    [record] = asyncio.run(run_prober("snmp", f"127.0.0.1:{free_udp_port()}", module, context_for("KZ-001")))
    assert "No SNMP response" in record.error
