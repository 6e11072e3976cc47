"""The probe's `snmp` prober: the school router's uplink, polled on the school LAN (NAT hides it from the centre).

One record per call for the uplink port: bit rates in and out, utilisation against the school's
contract, error and discard rates, whether the port is up. A rate needs two readings: the poller keeps
the previous one between calls, and when it has none (the first call, a reboot of the router, a
reading older than MAX_READING_AGE_SECONDS) the prober reads twice, `first_interval_seconds` apart.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from core.measurement import Kind, Measurement
from probes.config import Module, SnmpModule
from probes.context import ProbeContext
from probes.snmp.poller import Poller, find_port, measurement_values
from probes.snmp.targets import Defaults, Target, TargetsFile

_pollers: dict[tuple[str, SnmpModule, str], tuple[Poller, Target]] = {}


def _poller(target: str, settings: SnmpModule, school_id: str) -> tuple[Poller, Target]:
    """The poller of this router and settings, made once: it remembers the previous readings."""
    key = (target, settings, school_id)
    if key not in _pollers:
        host, _, port = target.rpartition(":") if target.count(":") == 1 else (target, "", "")
        device = Target(name="router", address=host or target, port=int(port) if port else None,
                        school_id=school_id, uplink=settings.uplink, **settings.credentials())
        document = TargetsFile(defaults=Defaults(timeout_seconds=settings.timeout_seconds, retries=settings.retries),
                               targets=(device,))
        contracts = {school_id: settings.contracted_bps} if settings.contracted_bps else {}
        _pollers[key] = (Poller(document, contracts, concurrency=1), device)
    return _pollers[key]


async def probe_snmp(target: str, module: Module, context: ProbeContext) -> list[Measurement]:
    """Poll the router at `target` (host or host:port); one record of its uplink port."""
    settings = module.snmp
    start = datetime.now(timezone.utc)
    method = f"snmp-{settings.version}"
    attributes = {"uplink": settings.uplink or ""}
    if settings.uplink is None:
        return [context.record(Kind.SNMP, target, method, start, {}, attributes,
                               "modules.snmp.uplink is not set: name the router's port towards the modem")]
    poller, device = _poller(target, settings, context.school_id)
    result = await poller.poll(device)
    port = find_port(result, settings.uplink) if result.answered else None
    if port is not None and port.in_bps is None:                 # no previous reading: take a second one
        await asyncio.sleep(settings.first_interval_seconds)
        result = await poller.poll(device)
        port = find_port(result, settings.uplink) if result.answered else None
    if not result.answered:
        return [context.record(Kind.SNMP, target, method, start, {}, attributes, result.error)]
    if port is None:
        known = ", ".join(p.name or p.descr for p in result.interfaces)
        return [context.record(Kind.SNMP, target, method, start, {}, attributes,
                               f"modules.snmp.uplink={settings.uplink!r}: no such port (the router has {known})")]
    values = measurement_values(port)
    attributes |= {"port_speed_bps": f"{port.speed_bps:.0f}", "counter_bits": str(port.counter_bits)}
    error = None if port.in_bps is not None else "no rate: the router's counters were reset between the readings"
    return [context.record(Kind.SNMP, target, method, start, values, attributes, error)]


async def throughput_with_context(module: Module, context: ProbeContext) -> list[Measurement]:
    """One ndt7 test; with `modules.snmp.router` set, the router's uplink is read just before and just after
    it, so the `snmp` record beside the throughput records says how much traffic crossed the link during
    the test — the test's own and everyone else's. A slow result on a link full of other traffic is a
    busy school, not a slow operator."""
    from probes.probers import run_prober

    router = module.snmp.router
    before = await run_prober("snmp", router, module, context) if router else []
    results = await run_prober("ndt7", "auto", module, context)
    if not router:
        return results
    ids = ",".join(str(record.measurement_id) for record in results)
    during = [record.model_copy(update={"attributes": {**record.attributes, "during": "ndt7", "throughput_ids": ids}})
              for record in await run_prober("snmp", router, module, context)]
    return [*before, *results, *during]
