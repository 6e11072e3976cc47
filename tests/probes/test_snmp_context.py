"""In real namespaces: the router's SNMP reading beside a throughput result, so a slow test can be told
from a busy link. snmpd runs in the router namespace; the probe (`mektepnet probe once`) in the school
namespace reads the router's uplink just before and just after its ndt7 test against the centre."""

from __future__ import annotations

import json
import sys

import pytest

from core.measurement import Kind, Measurement
from tests.helpers.ndt7 import server_process
from tests.helpers.netpath import NetworkPath, PathSpec
from tests.helpers.probe import readable_config
from tests.helpers.snmpd import snmpd

RATE_BPS = 20e6


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
