"""The SNMP poller against a real net-snmp snmpd: v2c and v3 authPriv, real interface counters, and every
way a target can fail while the sweep goes on."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from core.errors import CoreError
from probes.snmp.poller import Poller
from probes.snmp.targets import load_model, load_targets
from tests.helpers.snmpd import Agent, free_udp_port, snmpd
from tests.helpers.traffic import loopback_traffic


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    with snmpd(tmp_path_factory.mktemp("snmpd")) as running:
        yield running


def v2c(agent: Agent, name: str = "v2c", **extra) -> dict:
    return {"name": name, "address": "127.0.0.1", "port": agent.port, "version": "v2c",
            "community": agent.community, **extra}


def v3(agent: Agent, name: str = "v3", **extra) -> dict:
    return {"name": name, "address": "127.0.0.1", "port": agent.port, "version": "v3", "user": agent.user,
            "auth_protocol": "SHA", "auth_key": agent.auth_key, "priv_protocol": "AES", "priv_key": agent.priv_key,
            **extra}


def sysfs_bytes() -> int:
    return int(Path("/sys/class/net/lo/statistics/rx_bytes").read_text())


@pytest.mark.parametrize("make", [v2c, v3], ids=["v2c", "v3-authPriv"])
def test_the_poller_reads_real_interface_counters_and_gives_rates_from_the_second_poll(agent, make):
    targets = load_model({"targets": [make(agent, bottleneck_ports=["lo"])]}, "test")

    async def main():
        poller = Poller(targets)
        first = await poller.sweep()
        before, began = sysfs_bytes(), time.monotonic()
        loopback_traffic(40)
        await asyncio.sleep(6)                         # snmpd caches interface statistics for a few seconds
        second = await poller.sweep()
        return first, second, sysfs_bytes() - before, time.monotonic() - began

    first, second, kernel_bytes, elapsed = asyncio.run(main())
    [result] = first.results
    assert result.answered and result.uptime_seconds > 0
    lo = next(port for port in result.interfaces if port.name == "lo")
    assert lo.oper_up and lo.counter_bits == 64 and lo.in_octets > 0
    assert lo.in_bps is None and lo.in_utilisation_ratio is None           # the first poll gives no rate
    lo = next(port for port in second.results[0].interfaces if port.name == "lo")
    assert lo.in_bps is not None and lo.in_bps > 0
    # What SNMP saw pass between the polls is what the kernel counted (snmpd's cache blurs the edges).
    assert 40 * 2**20 * 0.9 <= lo.in_bps / 8 * (elapsed + 1) and lo.in_bps / 8 <= kernel_bytes / 5
    assert lo.in_errors_per_second == 0.0
    assert lo.capacity_bps is None or lo.in_utilisation_ratio == pytest.approx(lo.in_bps / lo.capacity_bps)


def test_a_school_uplink_is_judged_against_the_contract_not_the_port_speed(agent):
    targets = load_model({"targets": [v2c(agent, school_id="KZ-001", uplink="lo")]}, "test")

    async def main():
        poller = Poller(targets, contracts={"KZ-001": 8e6})
        await poller.sweep()
        loopback_traffic(10)
        await asyncio.sleep(6)
        return await poller.sweep()

    lo = next(port for port in asyncio.run(main()).results[0].interfaces if port.name == "lo")
    assert lo.capacity_bps == 8e6 and lo.in_utilisation_ratio == pytest.approx(lo.in_bps / 8e6)


def garbage_server() -> tuple[socket.socket, int]:
    """A UDP service that answers every datagram with bytes that are not SNMP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                _, peer = sock.recvfrom(4096)
                sock.sendto(b"\xde\xad\xbe\xef not snmp", peer)
            except OSError:
                return

    threading.Thread(target=answer, daemon=True).start()
    return sock, sock.getsockname()[1]


def test_every_failure_is_reported_precisely_and_the_sweep_goes_on(agent):
    garbage, garbage_port = garbage_server()
    silent_port = free_udp_port()
    targets = load_model({"defaults": {"timeout_seconds": 1, "retries": 1}, "targets": [
        v2c(agent, "good"),
        v2c(agent, "wrong-community", community="not-the-community"),
        v3(agent, "wrong-auth-key", auth_key="not-the-key-1"),
        v3(agent, "wrong-priv-key", priv_key="not-the-key-2"),
        v3(agent, "unknown-user", user="nobody"),
        {"name": "dead", "address": "127.0.0.1", "port": silent_port, "version": "v2c", "community": "x"},
        {"name": "garbage", "address": "127.0.0.1", "port": garbage_port, "version": "v2c", "community": "x"},
    ]}, "test")
    try:
        sweep = asyncio.run(Poller(targets).sweep())
    finally:
        garbage.close()
    by_name = {result.target: result for result in sweep.results}
    assert by_name["good"].answered and by_name["good"].interfaces
    assert [r.target for r in sweep.unreachable] == ["wrong-community", "wrong-auth-key", "wrong-priv-key",
                                                    "unknown-user", "dead", "garbage"]
    for name in ("wrong-community", "wrong-auth-key", "wrong-priv-key", "dead", "garbage"):
        # Agents drop what they cannot authenticate, so these look alike; the message says so.
        assert by_name[name].error == (f"{name}: No SNMP response received before timeout (2 tries of 1 s: "
                                       "down, filtered, or a wrong community or v3 key)")
    assert by_name["unknown-user"].error == "unknown-user: Unknown USM user"
    # The dead targets waited out their own timeouts side by side, not one after another.
    assert by_name["good"].seconds < 1.0 and sweep.seconds < 2 * 2.0 + 1.5


@pytest.mark.parametrize("document, field, words", [
    ({"targets": []}, "targets", "at least 1"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c"}]}, "targets.0", "needs a community"),
    ({"targets": [{"name": "a", "address": "h", "version": "v3", "user": "u", "priv_protocol": "AES",
                   "priv_key": "12345678"}]}, "targets.0", "needs authentication"),
    ({"targets": [{"name": "a", "address": "h", "version": "v1", "community": "c"}]}, "targets.0.version", "v2c"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c", "community": "c", "port": 70000}]},
     "targets.0.port", "65535"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c", "community": "c", "uplink": "ge0"}]},
     "targets.0", "school_id"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c", "community": "c"}] * 2}, "targets", "name 'a'"),
])
def test_a_malformed_targets_file_is_refused_naming_the_field(document, field, words):
    with pytest.raises(CoreError) as caught:
        load_model(document, "targets.yaml")
    text = "; ".join(str(problem) for problem in caught.value.problems)
    assert words in text and field.split(".")[0] in text


def test_secrets_can_live_in_files_beside_the_targets_file(tmp_path):
    (tmp_path / "community").write_text("from-a-file\n")
    (tmp_path / "targets.yaml").write_text("targets:\n  - {name: r, address: 10.0.0.1, version: v2c, "
                                           "community_file: community}\n")
    assert load_targets(tmp_path / "targets.yaml").targets[0].community == "from-a-file"
    (tmp_path / "targets.yaml").write_text("targets:\n  - {name: r, address: 10.0.0.1, version: v2c, "
                                           "community_file: missing}\n")
    with pytest.raises(CoreError, match="community_file"):
        load_targets(tmp_path / "targets.yaml")
