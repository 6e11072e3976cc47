"""The probe's `snmp` prober against a real snmpd: the uplink's record, and its failures as records; in real
namespaces, the router's reading beside a throughput result, so a slow test can be told from a busy link."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from core.measurement import Kind, Measurement
from probes.config import Module, SnmpModule
from probes.context import ProbeContext
from probes.probers import run_prober
from tests.helpers.ndt7 import server_process
from tests.helpers.netpath import NetworkPath, PathSpec
from tests.helpers.ports import free_udp_port
from tests.helpers.probe import readable_config
from tests.helpers.snmpd import snmpd
from tests.helpers.traffic import loopback_traffic

RATE_BPS = 20e6


def context_for(school_id: str) -> ProbeContext:
    return ProbeContext(school_id, f"p-{school_id.lower()}")


def test_the_uplink_record_has_rates_from_the_first_call_and_utilisation_against_the_contract(agent):
    module = Module(snmp=SnmpModule(community=agent.community, uplink="lo", contracted_bps=8e6,
                                    first_interval_seconds=1))
    context = context_for("KZ-001")

    async def main():
        began = time.monotonic()
        first = await run_prober("snmp", f"127.0.0.1:{agent.port}", module, context)
        first_call_seconds = time.monotonic() - began
        loopback_traffic(5)
        await asyncio.sleep(1)
        return first, first_call_seconds, await run_prober("snmp", f"127.0.0.1:{agent.port}", module, context)

    [first], first_call_seconds, [second] = asyncio.run(main())
    for record in (first, second):
        assert record.kind is Kind.SNMP and record.error is None and record.method == "snmp-v2c"
        assert record.values["oper_up"] == 1.0 and record.values["in_bps"] >= 0
        assert record.values["in_utilisation_ratio"] == pytest.approx(record.values["in_bps"] / 8e6)
        assert record.attributes["uplink"] == "lo" and record.attributes["counter_bits"] == "64"
    assert 0.9 <= first.values["interval_seconds"] <= first_call_seconds    # two readings in the first call
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


def test_the_router_uplink_reading_beside_a_throughput_test_shows_the_test_crossing_the_link(tmp_path):
    with NetworkPath(PathSpec(rate_bps=RATE_BPS)) as path:
        with snmpd(tmp_path / "snmpd", namespace=path.router, address="198.18.1.1") as agent, \
                server_process(namespace=path.centre, host=path.centre_ip) as ndt7:
            settings = {
                "collector": "http://127.0.0.1:1", "school_id": "KZ-001", "state_dir": "/nonexistent", "jobs": [],
                "modules": {
                    "ndt7": {"servers": [{"name": "centre", "url": ndt7.url}], "max_bytes_per_subtest": 20_000_000, "adaptive": False},
                    "snmp": {"community": agent.community, "router": f"198.18.1.1:{agent.port}",
                             "uplink": "rc", "contracted_bps": RATE_BPS, "first_interval_seconds": 1}}}
            result = path.in_ns(path.school, sys.executable, "-m", "cli", "probe", "once", "--config",
                                str(readable_config(settings)), "--json")
    records = [Measurement.model_validate(item) for item in json.loads(result.stdout)]
    download = next(r for r in records if r.kind is Kind.DOWNLOAD)
    upload = next(r for r in records if r.kind is Kind.UPLOAD)
    during = [r for r in records if r.kind is Kind.SNMP and r.attributes.get("during") == "ndt7"]
    assert download.error is None and upload.error is None
    [snmp] = during
    assert snmp.error is None and set(snmp.attributes["throughput_ids"].split(",")) == {
        str(download.measurement_id), str(upload.measurement_id)}
    # What crossed the router's uplink between the two readings is the test's own traffic (and its overhead).
    received = snmp.values["in_bps"] / 8 * snmp.values["interval_seconds"]
    sent = snmp.values["out_bps"] / 8 * snmp.values["interval_seconds"]
    print(f"router saw {received:,.0f} B in / {sent:,.0f} B out; ndt7 counted {download.values['transferred_bytes']:,.0f}"
          f" / {upload.values['transferred_bytes']:,.0f}")
    assert received == pytest.approx(download.values["transferred_bytes"], rel=0.15)
    # net-snmp serves interface counters from a cache a few seconds old, and the second reading comes right
    # after the upload (the test's second half) ends: part of the upload may not show yet.
    assert 0.5 * upload.values["transferred_bytes"] <= sent <= 1.15 * upload.values["transferred_bytes"]
    assert snmp.values["in_utilisation_ratio"] == pytest.approx(snmp.values["in_bps"] / RATE_BPS)
