"""DNS: how long the school's resolver takes to answer for a name, and what it answers.

Packets are built and parsed with scapy's DNS layer; the exchange is one UDP datagram each way on an
asyncio socket, timed with the monotonic clock from send to receipt.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timezone
from pathlib import Path

from core.measurement import Kind, Measurement
from probes.config import Module
from probes.context import ProbeContext

RESOLV_CONF = Path("/etc/resolv.conf")
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


async def probe_dns(target: str, module: Module, context: ProbeContext) -> list[Measurement]:
    """Resolve `target` (a name) at the configured resolver; one record with the time and the answer."""
    from probes.packets import DNS, DNSQR

    settings = module.dns
    start = datetime.now(timezone.utc)
    resolver = settings.resolver or system_resolver()
    attributes = {"resolver": f"{resolver}:{settings.port}", "query_type": settings.query_type}
    if resolver is None:
        return [context.record(Kind.DNS, target, "dns-udp", start, {}, attributes, "no resolver configured")]
    query_id = random.randrange(0, 0x10000)
    query = bytes(DNS(id=query_id, rd=1, qd=DNSQR(qname=target, qtype=settings.query_type)))
    try:
        reply, seconds = await _exchange(query, query_id, resolver, settings.port, settings.timeout_seconds)
    except (TimeoutError, OSError) as exc:
        reason = f"no answer within {settings.timeout_seconds:g} s" if isinstance(exc, TimeoutError) else str(exc)
        return [context.record(Kind.DNS, target, "dns-udp", start, {}, attributes, reason)]
    answer = DNS(reply)
    rcode = RCODES.get(answer.rcode, str(answer.rcode))
    addresses = [str(record.rdata) for record in (answer.an or []) if getattr(record, "type", None) in (1, 28)]
    attributes |= {"rcode": rcode, "answer": ",".join(addresses)[:512]}
    error = None if rcode == "NOERROR" and addresses else f"{rcode}, {len(addresses)} addresses"
    return [context.record(Kind.DNS, target, "dns-udp", start, {"resolution_seconds": seconds}, attributes, error)]


def system_resolver(path: Path = RESOLV_CONF) -> str | None:
    """The first `nameserver` of resolv.conf, or None."""
    try:
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == "nameserver":
                return fields[1]
    except OSError:
        pass
    return None


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, query_id: int):
        self.query_id = query_id
        self.answer: asyncio.Future[tuple[bytes, float]] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr) -> None:
        # A reply to another query id (a late answer, a spoofer) is not ours: keep waiting.
        if len(data) >= 2 and int.from_bytes(data[:2], "big") == self.query_id and not self.answer.done():
            self.answer.set_result((data, time.monotonic()))

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def _exchange(query: bytes, query_id: int, resolver: str, port: int, timeout: float) -> tuple[bytes, float]:
    """Send one query and wait for its reply; returns the reply and the seconds it took."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _Reply(query_id), remote_addr=(resolver, port))
    try:
        sent = time.monotonic()
        transport.sendto(query)
        reply, received = await asyncio.wait_for(protocol.answer, timeout)
        return reply, received - sent
    finally:
        transport.close()
