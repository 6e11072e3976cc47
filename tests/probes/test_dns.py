"""The DNS prober against a real UDP DNS responder on loopback."""

from __future__ import annotations

import asyncio
import time

from probes.config import DnsModule, Module
from probes.context import ProbeContext
from probes.dns import probe_dns, system_resolver
from tests.helpers.dnsserver import Zone, dns_server

CONTEXT = ProbeContext("KZ-001", "p-1")


def lookup(name: str, address, timeout: float = 1.0):
    module = Module(dns=DnsModule(resolver=address[0], port=address[1], timeout_seconds=timeout))
    [record] = asyncio.run(probe_dns(name, module, CONTEXT))
    return record


def test_answer_and_time_of_a_delayed_resolver():
    zone = Zone({"kundelik.kz": "198.18.7.7"}, delay_seconds=0.05)
    with dns_server(zone) as address:
        began = time.monotonic()
        record = lookup("kundelik.kz", address)
        call_seconds = time.monotonic() - began
    assert record.error is None and record.method == "dns-udp"
    assert record.attributes["answer"] == "198.18.7.7" and record.attributes["rcode"] == "NOERROR"
    assert 0.05 <= record.values["resolution_seconds"] <= call_seconds     # the delay, inside the call
    assert zone.queries == ["kundelik.kz"]


def test_nxdomain_is_an_error_with_the_time_kept():
    with dns_server(Zone({})) as address:
        record = lookup("bilimland.kz", address)
    assert record.error.startswith("NXDOMAIN") and "resolution_seconds" in record.values


def test_a_reply_with_a_foreign_id_is_ignored():
    with dns_server(Zone({"daryn.online": "198.18.7.8"}, decoy=True)) as address:
        record = lookup("daryn.online", address)
    assert record.error is None and record.attributes["answer"] == "198.18.7.8"


def test_a_silent_resolver_times_out():
    with dns_server(Zone({}, silent=True)) as address:
        record = lookup("kundelik.kz", address, timeout=0.3)
    assert record.error == "no answer within 0.3 s" and record.values == {}


def test_the_system_resolver_comes_from_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch school.kz\nnameserver 198.18.0.53\nnameserver 198.18.0.54\n")
    assert system_resolver(conf) == "198.18.0.53"
    assert system_resolver(tmp_path / "absent") is None
