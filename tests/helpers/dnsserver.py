"""A real DNS responder for tests: answers A queries from a table over UDP, optionally late or wrong."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from scapy.layers.dns import DNS, DNSRR


@dataclass
class Zone:
    """Names to IPv4 addresses; `delay_seconds` before each answer; `decoy` first sends a reply with a wrong id."""

    records: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    decoy: bool = False
    silent: bool = False
    queries: list[str] = field(default_factory=list)

    def answer(self, query: bytes) -> bytes:
        """The reply to one query: the A record, or NXDOMAIN."""
        request = DNS(query)
        name = request.qd[0].qname.decode().rstrip(".")
        self.queries.append(name)
        if name in self.records:
            return bytes(DNS(id=request.id, qr=1, aa=1, rd=request.rd, ra=1, qd=request.qd,
                             an=DNSRR(rrname=request.qd[0].qname, type="A", ttl=60, rdata=self.records[name])))
        return bytes(DNS(id=request.id, qr=1, aa=1, rd=request.rd, ra=1, rcode=3, qd=request.qd))


@contextmanager
def dns_server(zone: Zone, host: str = "127.0.0.1"):
    """Serve `zone` on a free UDP port of `host` in a thread; yields (host, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.2)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                query, client = sock.recvfrom(2048)
            except TimeoutError:
                continue
            if zone.silent:
                continue
            reply = zone.answer(query)
            if zone.delay_seconds:
                time.sleep(zone.delay_seconds)
            if zone.decoy:
                sock.sendto(bytes([reply[0] ^ 0xFF, reply[1]]) + reply[2:], client)
            sock.sendto(reply, client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()
    finally:
        stopping.set()
        thread.join(2)
        sock.close()
