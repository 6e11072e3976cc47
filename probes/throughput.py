"""The ndt7 prober: download then upload against the nearest ministry server, with the host's context.

The probe host's own interface counters are read before and after, so a low result taken while the
host itself moved other traffic is visible (`probe_interface_bps`). A server that requires signed
access tokens gets one from the probe's collector before each subtest.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from core.measurement import Kind, Measurement
from probes.config import Module
from probes.context import ProbeContext
from probes.host import interface_bytes, other_traffic_bps
from probes.ndt7.client import ClientOptions, Ndt7Error, run_test
from probes.ndt7.locator import run_nearest
from probes.ndt7.servers import ServerEntry, ServerList
from probes.ndt7.records import to_measurement

AUTO = "auto"


async def probe_ndt7(target: str, module: Module, context: ProbeContext) -> list[Measurement]:
    """One ndt7 test: `target` is a ws(s):// server URL, or 'auto' for the configured list via the locator."""
    settings = module.ndt7
    options = ClientOptions(adaptive=settings.adaptive, max_bytes=settings.max_bytes_per_subtest,
                            token=settings.token, ca_file=settings.ca_file)
    if target == AUTO:
        servers = settings.servers
    else:       # a configured server keeps its name (the tokens' audience) and whether it requires one
        servers = (next((entry for entry in settings.servers if entry.url == target),
                        ServerEntry(name=target, url=target)),)
    start = datetime.now(timezone.utc)
    if not servers:
        return _failed(context, target, start, "no ndt7 server configured")
    interface = context.attributes.get("interface")
    before, began = interface_bytes(interface), time.monotonic()
    try:
        located = await run_nearest(ServerList(version="config", servers=servers), settings.region, settings.isp,
                                    options, run_test, settings.access.fetch_token if settings.access else None)
    except Ndt7Error as exc:
        return _failed(context, target, start, str(exc))
    after, seconds = interface_bytes(interface), time.monotonic() - began
    own_bytes = sum(result.wire_bytes for result in located.results)
    extra = {"probe_interface_bps": other_traffic_bps(before, after, own_bytes, seconds)}
    attributes = {"server_name": located.server.name}
    if located.refused:
        attributes["servers_refused"] = "; ".join(f"{entry.name}: {why}" for entry, why in located.refused)[:512]
    return [to_measurement(result, context, attributes, extra) for result in located.results]


def _failed(context: ProbeContext, target: str, start: datetime, reason: str) -> list[Measurement]:
    return [context.record(kind, target, "ndt7", start, {}, error=reason, method_version="v7")
            for kind in (Kind.DOWNLOAD, Kind.UPLOAD)]
