"""Counter wraps and reboots proven against simulated devices (snmpsim), not only in arithmetic."""

from __future__ import annotations

import asyncio
import pytest

from probes.snmp.poller import Poller
from probes.snmp.targets import load_model
from tests.helpers.snmpd import snmpsim

IN_RATE, OUT_RATE = 1_000_000, 250_000          # bytes per second the simulated ports carry


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


def targets(port: int):
    return load_model({"defaults": {"timeout_seconds": 1, "retries": 1}, "targets": [
        {"name": "sim", "address": "127.0.0.1", "port": port, "version": "v2c", "community": "device"}]}, "test")


def test_a_32_bit_counter_that_wraps_between_polls_gives_the_true_rate(tmp_path):
    # ifInOctets starts 6 MB below 2^32 at 1 MB/s: it wraps about six seconds after the agent starts.
    with snmpsim(tmp_path, {"device": device(500_000, 2**32 - 6_000_000, 1_000, wide=False)}) as [port]:
        async def main():
            poller = Poller(targets(port))
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
            poller = Poller(targets(port))
            first = await poller.sweep()
        # The same device (the same target name) back after a reboot: uptime and counters start near zero.
        with snmpsim(tmp_path / "after", {"device": just_booted}) as [port]:
            poller.targets = targets(port)
            rebooted = await poller.poll(poller.targets.targets[0])
            await asyncio.sleep(3)
            return first, rebooted, await poller.poll(poller.targets.targets[0])

    first, rebooted, settled = asyncio.run(main())
    assert first.results[0].interfaces[0].in_bps is None                  # first poll: no rate
    port_after = rebooted.interfaces[0]
    assert rebooted.uptime_seconds < 60 and port_after.in_bps is None and port_after.out_bps is None
    assert settled.interfaces[0].in_bps / 8 == pytest.approx(IN_RATE, rel=0.05)
