"""The one table from protocol name to prober, and the signature every prober shares.

A prober is `async def probe_x(target: str, module: Module, context: ProbeContext) -> list[Measurement]`:
it measures one target with the settings of its protocol in `module`, returns its records, and never
raises to the runner — a failure is a record with `error` set. Probers are imported on first use so
that an agent which never pings does not pay for scapy.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from core.measurement import Kind, Measurement

if TYPE_CHECKING:
    from probes.config import Module
    from probes.context import ProbeContext

Prober = Callable[[str, "Module", "ProbeContext"], Awaitable[list[Measurement]]]

PROBERS: dict[str, str] = {
    "icmp": "probes.icmp:probe_icmp",
    "dns": "probes.dns:probe_dns",
    "http": "probes.http:probe_http",
    "ndt7": "probes.throughput:probe_ndt7",
    "snmp": "probes.snmp.prober:probe_snmp",
}
KINDS: dict[str, Kind] = {"icmp": Kind.LATENCY, "dns": Kind.DNS, "http": Kind.HTTP, "ndt7": Kind.DOWNLOAD,
                          "snmp": Kind.SNMP}

log = logging.getLogger("mektepnet.probe")


def prober(name: str) -> Prober:
    """The prober registered under `name` (a key of PROBERS)."""
    module_name, function = PROBERS[name].split(":")
    return getattr(importlib.import_module(module_name), function)


async def run_prober(name: str, target: str, module: "Module", context: "ProbeContext") -> list[Measurement]:
    """Run one prober on one target; an exception escaping it becomes one error record, never a crash."""
    start = datetime.now(timezone.utc)
    try:
        return await prober(name)(target, module, context)
    except Exception as exc:          # noqa: BLE001 - the runner owns failure, as blackbox_exporter's does
        log.exception("prober %s failed on %s", name, target)
        return [context.record(KINDS[name], target, f"{name}-failed", start=start, values={},
                               error=f"{type(exc).__name__}: {exc}")]
