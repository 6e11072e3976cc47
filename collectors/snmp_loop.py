"""The centre's SNMP poll loop: operator nodes and managed school CPEs, every `interval` seconds.

It runs on the collector's event loop with the poller of `probes/snmp` (the probe's `snmp` prober uses
the same code). Each sweep's state is what `/metrics` shows (per device: answered, poll time; per
port: status, traffic, utilisation, errors; devices unreachable); a school router's uplink also
becomes a `snmp` Measurement in the store, beside what the school's own probe sends.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone

from collectors.store import Store
from core import __version__
from core.measurement import Kind, Measurement
from core.metrics import escape_label, exposition_header, metric
from probes.snmp.poller import Poller, Sweep, find_port, measurement_values
from probes.snmp.targets import TargetsFile

log = logging.getLogger("mektepnet.collector.snmp")

CENTRAL_PROBE_ID = "collector-snmp"


class SnmpLoop:
    """Sweeps `targets` every `interval_seconds` until stopped; `last` is the latest sweep."""

    def __init__(self, targets: TargetsFile, store: Store | None, contracts: dict[str, float],
                 interval_seconds: float = 60.0, concurrency: int = 256):
        self.targets, self.store, self.interval_seconds = targets, store, interval_seconds
        self.poller = Poller(targets, contracts, concurrency)
        self.last: Sweep | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep, store, wait; a failed round is logged and the next one tried."""
        while not stop.is_set():
            began = asyncio.get_running_loop().time()
            try:
                await self.sweep_once()
            except Exception:                     # noqa: BLE001 - the loop outlives one bad round
                log.exception("SNMP sweep failed")
            pause = max(0.0, self.interval_seconds - (asyncio.get_running_loop().time() - began))
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass

    async def sweep_once(self) -> Sweep:
        """One sweep: remembered for /metrics, school uplinks written to the store."""
        sweep = await self.poller.sweep()
        self.last = sweep
        records = self.records(sweep)
        if records and self.store is not None:
            await asyncio.to_thread(self.store.insert, records, [False] * len(records))
        if sweep.unreachable:
            log.warning("SNMP: %d of %d devices did not answer", len(sweep.unreachable), len(sweep.results))
        return sweep

    def records(self, sweep: Sweep) -> list[Measurement]:
        """A `snmp` Measurement per answering school router whose uplink has a rate."""
        now = datetime.now(timezone.utc)
        records = []
        by_name = {target.name: target for target in self.targets.targets}
        for result in sweep.results:
            target = by_name[result.target]
            port = find_port(result, target.uplink) if result.answered and target.school_id else None
            if port is None or port.in_bps is None:
                continue
            values = {name: value for name, value in measurement_values(port).items() if value is not None}
            start = now if port.interval_seconds is None else datetime.fromtimestamp(
                now.timestamp() - port.interval_seconds, timezone.utc)
            records.append(Measurement(
                measurement_id=uuid.uuid4(), school_id=target.school_id, probe_id=CENTRAL_PROBE_ID, kind=Kind.SNMP,
                start=start, end=now, clock_offset_seconds=0.0, values=values,
                attributes={"uplink": target.uplink or "", "device": target.name}, target=target.address,
                method=f"snmp-{target.version}", method_version="1", probe_version=__version__))
        return records

    def exposition(self) -> str:
        """The last sweep in Prometheus' text format (empty before the first)."""
        sweep = self.last
        if sweep is None:
            return ""
        by_name = {target.name: target for target in self.targets.targets}
        lines: dict[str, list[str]] = {spec: [] for spec in _FAMILIES}
        for result in sweep.results:
            target = by_name[result.target]
            name = escape_label(result.target)
            lines["mektepnet_snmp_target_info"].append(
                f'mektepnet_snmp_target_info{{target="{name}",school_id="{target.school_id or ""}",'
                f'address="{escape_label(target.address)}"}} 1\n')
            lines["mektepnet_snmp_target_up"].append(f'mektepnet_snmp_target_up{{target="{name}"}} '
                                                     f"{1 if result.answered else 0}\n")
            lines["mektepnet_snmp_poll_duration_seconds"].append(
                f'mektepnet_snmp_poll_duration_seconds{{target="{name}"}} {result.seconds!r}\n')
            for port in result.interfaces:
                labels = f'target="{name}",interface="{escape_label(port.name or port.descr or str(port.index))}"'
                lines["mektepnet_snmp_interface_up"].append(
                    f"mektepnet_snmp_interface_up{{{labels}}} {1 if port.oper_up else 0}\n")
                for family, value in (("mektepnet_snmp_interface_receive_bytes_per_second", port.in_bps),
                                      ("mektepnet_snmp_interface_transmit_bytes_per_second", port.out_bps),
                                      ("mektepnet_snmp_interface_discards_per_second", port.in_discards_per_second)):
                    if value is not None:
                        lines[family].append(f"{family}{{{labels}}} {metric(family).exported_value(value)!r}\n")
                for family, direction, value in (
                        ("mektepnet_snmp_interface_utilisation_ratio", "in", port.in_utilisation_ratio),
                        ("mektepnet_snmp_interface_utilisation_ratio", "out", port.out_utilisation_ratio),
                        ("mektepnet_snmp_interface_errors_per_second", "in", port.in_errors_per_second),
                        ("mektepnet_snmp_interface_errors_per_second", "out", port.out_errors_per_second)):
                    if value is not None:
                        lines[family].append(f'{family}{{{labels},direction="{direction}"}} {value!r}\n')
        lines["mektepnet_snmp_targets_unreachable"].append(
            f"mektepnet_snmp_targets_unreachable {len(sweep.unreachable)}\n")
        return "".join(exposition_header(family) + "".join(body) for family, body in lines.items())


_FAMILIES = ("mektepnet_snmp_target_info", "mektepnet_snmp_target_up", "mektepnet_snmp_poll_duration_seconds",
             "mektepnet_snmp_targets_unreachable", "mektepnet_snmp_interface_up",
             "mektepnet_snmp_interface_receive_bytes_per_second", "mektepnet_snmp_interface_transmit_bytes_per_second",
             "mektepnet_snmp_interface_utilisation_ratio", "mektepnet_snmp_interface_errors_per_second",
             "mektepnet_snmp_interface_discards_per_second")
