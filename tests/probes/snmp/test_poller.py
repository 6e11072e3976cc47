"""The SNMP poller against a real net-snmp snmpd: v2c and v3 authPriv, real interface counters, and every
way a target can fail while the sweep goes on; counter wraps and reboots against simulated devices (snmpsim)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from probes.snmp.poller import Poller
from probes.snmp.targets import load_model
from tests.helpers.ports import free_udp_port
from tests.helpers.snmpd import Agent, snmpsim
from tests.helpers.traffic import loopback_traffic

IN_RATE, OUT_RATE = 1_000_000, 250_000          # bytes per second the simulated ports carry


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


def udp_server(name: str, arrivals: list[str], answer: bytes | None) -> tuple[socket.socket, int]:
    """A UDP service that notes each datagram as `name` in `arrivals` and answers it with `answer` (never
    when None)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                _, peer = sock.recvfrom(4096)
                arrivals.append(name)
                if answer is not None:
                    sock.sendto(answer, peer)
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


def test_every_failure_is_reported_precisely_and_the_sweep_goes_on(agent):
    arrivals: list[str] = []
    garbage, garbage_port = udp_server("garbage", arrivals, b"\xde\xad\xbe\xef not snmp")
    silent, silent_port = udp_server("silent", arrivals, None)
    closed_port = free_udp_port()
    targets = load_model({"defaults": {"timeout_seconds": 1, "retries": 1}, "targets": [
        v2c(agent, "good"),
        v2c(agent, "wrong-community", community="not-the-community"),
        v3(agent, "wrong-auth-key", auth_key="not-the-key-1"),
        v3(agent, "wrong-priv-key", priv_key="not-the-key-2"),
        v3(agent, "unknown-user", user="nobody"),
        {"name": "dead", "address": "127.0.0.1", "port": closed_port, "version": "v2c", "community": "x"},
        {"name": "silent", "address": "127.0.0.1", "port": silent_port, "version": "v2c", "community": "x"},
        {"name": "garbage", "address": "127.0.0.1", "port": garbage_port, "version": "v2c", "community": "x"},
    ]}, "test")
    try:
        sweep = asyncio.run(Poller(targets).sweep())
    finally:
        garbage.close()
        silent.close()
    by_name = {result.target: result for result in sweep.results}
    assert by_name["good"].answered and by_name["good"].interfaces
    assert [r.target for r in sweep.unreachable] == ["wrong-community", "wrong-auth-key", "wrong-priv-key",
                                                    "unknown-user", "dead", "silent", "garbage"]
    timed_out = ("wrong-community", "wrong-auth-key", "wrong-priv-key", "dead", "silent", "garbage")
    for name in timed_out:
        # Agents drop what they cannot authenticate, so these look alike; the message says so. A wrong v3
        # auth key may instead come back as the agent's report of a wrong digest, which names it exactly.
        precise = {"wrong-auth-key": f"{name}: Wrong SNMP PDU digest"}
        assert by_name[name].error in (f"{name}: No SNMP response received before timeout (2 tries of 1 s: "
                                       "down, filtered, or a wrong community or v3 key)", precise.get(name))
    assert by_name["unknown-user"].error == "unknown-user: Unknown USM user"
    # The dead targets waited out their own timeouts side by side, not one after another: each was tried
    # twice, and both first tries came before either retry ...
    assert sorted(arrivals) == ["garbage", "garbage", "silent", "silent"]
    assert sorted(arrivals[:2]) == ["garbage", "silent"]
    # ... and the healthy target, started with them, was done before any of them had given up.
    assert by_name["good"].seconds < min(by_name[name].seconds for name in timed_out)


def device(uptime_ticks: int, in_octets: int, out_octets: int, wide: bool) -> str:
    """A one-port device whose counters grow at IN_RATE / OUT_RATE from the given values (32-bit ones wrap)."""
    if wide:
        counters = (f"1.3.6.1.2.1.31.1.1.1.6.1|70:numeric|rate={IN_RATE},initial={in_octets}\n"
                    f"1.3.6.1.2.1.31.1.1.1.10.1|70:numeric|rate={OUT_RATE},initial={out_octets}\n")
        legacy = ""
    else:
        counters = ""
        legacy = (f"1.3.6.1.2.1.2.2.1.10.1|65:numeric|rate={IN_RATE},initial={in_octets},wrap=1\n",
                  f"1.3.6.1.2.1.2.2.1.16.1|65:numeric|rate={OUT_RATE},initial={out_octets},wrap=1\n")
    records = [f"1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial={uptime_ticks}\n",
               "1.3.6.1.2.1.2.2.1.2.1|4|eth0\n", "1.3.6.1.2.1.2.2.1.8.1|2|1\n",
               *([legacy[0]] if legacy else []),
               "1.3.6.1.2.1.2.2.1.13.1|65|0\n", "1.3.6.1.2.1.2.2.1.14.1|65|0\n",
               *([legacy[1]] if legacy else []),
               "1.3.6.1.2.1.2.2.1.20.1|65|0\n", "1.3.6.1.2.1.31.1.1.1.1.1|4|eth0\n", counters,
               "1.3.6.1.2.1.31.1.1.1.15.1|66|100\n"]
    return "".join(sorted("".join(records).splitlines(keepends=True), key=_oid_order))


def _oid_order(line: str) -> tuple[int, ...]:
    return tuple(int(part) for part in line.split("|")[0].split("."))


def simulated_targets(port: int):
    return load_model({"defaults": {"timeout_seconds": 1, "retries": 1}, "targets": [
        {"name": "sim", "address": "127.0.0.1", "port": port, "version": "v2c", "community": "device"}]}, "test")


def test_a_32_bit_counter_that_wraps_between_polls_gives_the_true_rate(tmp_path):
    # ifInOctets starts 6 MB below 2^32 at 1 MB/s: it wraps about six seconds after the agent starts.
    with snmpsim(tmp_path, {"device": device(500_000, 2**32 - 6_000_000, 1_000, wide=False)}) as [port]:
        async def main():
            poller = Poller(simulated_targets(port))
            first = await poller.sweep()
            await asyncio.sleep(8)
            return first, await poller.sweep()

        first, second = asyncio.run(main())
    [before], [after] = first.results[0].interfaces, second.results[0].interfaces
    assert before.counter_bits == after.counter_bits == 32
    assert after.in_octets < before.in_octets                        # the counter did wrap between the polls
    assert after.in_bps / 8 == pytest.approx(IN_RATE, rel=0.05)
    assert after.out_bps / 8 == pytest.approx(OUT_RATE, rel=0.05)


def test_a_reboot_between_polls_gives_no_spike_and_the_next_poll_a_true_rate(tmp_path):
    long_up = device(40 * 86_400 * 100, 9_000_000_000_000, 4_000_000_000_000, wide=True)
    just_booted = device(100, 1_000, 1_000, wide=True)

    async def main():
        # One event loop for the whole story: a poller belongs to the loop it was made on.
        with snmpsim(tmp_path / "before", {"device": long_up}) as [port]:
            poller = Poller(simulated_targets(port))
            first = await poller.sweep()
        # The same device (the same target name) back after a reboot: uptime and counters start near zero.
        booted = time.monotonic()
        with snmpsim(tmp_path / "after", {"device": just_booted}) as [port]:
            poller.targets = simulated_targets(port)
            rebooted = await poller.poll(poller.targets.targets[0])
            since_boot_seconds = time.monotonic() - booted
            await asyncio.sleep(3)
            return first, rebooted, since_boot_seconds, await poller.poll(poller.targets.targets[0])

    first, rebooted, since_boot_seconds, settled = asyncio.run(main())
    assert first.results[0].interfaces[0].in_bps is None                  # first poll: no rate
    port_after = rebooted.interfaces[0]
    # The uptime read is the device's since it (re)started: its 1 s at boot and no more than has passed since.
    assert rebooted.uptime_seconds <= 1 + since_boot_seconds
    assert port_after.in_bps is None and port_after.out_bps is None
    assert settled.interfaces[0].in_bps / 8 == pytest.approx(IN_RATE, rel=0.05)
