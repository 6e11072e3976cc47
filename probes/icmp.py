"""Latency trains: RTT min/median/p95, jitter and loss, by raw ICMP (scapy), ICMP datagram socket or TCP connect.

Jitter here is the speed-test convention — the mean absolute difference of consecutive RTTs of the
received replies, in sequence order — and not RFC 3550's smoothed interarrival estimator. Each record
says which method measured it: raw ICMP needs CAP_NET_RAW; unprivileged ICMP datagram sockets need
the group in net.ipv4.ping_group_range; TCP connect needs neither but measures the handshake.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import socket
import statistics
import struct
import time
from datetime import datetime, timezone
from pathlib import Path

from core.measurement import Kind, Measurement
from core.statistics import nearest_rank
from probes.config import IcmpModule, Module
from probes.context import ProbeContext
from probes.resolve import resolve_ipv4

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
PING_GROUP_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")
ECHO_REQUEST, ECHO_REPLY = 8, 0

Rtts = list[float | None]     # per sequence number, seconds; None = no reply within the timeout


async def probe_icmp(target: str, module: Module, context: ProbeContext) -> list[Measurement]:
    """One latency train to `target` (a host name or IPv4 address); one record."""
    settings = module.icmp
    start = datetime.now(timezone.utc)
    method = choose_method(settings.method)
    try:
        address = await resolve_ipv4(target, settings.timeout_seconds)
        if method == "tcp-connect":
            rtts = await _tcp_train(address, settings)
        else:
            train = _raw_train if method == "icmp-raw" else _datagram_train
            rtts = await asyncio.to_thread(train, address, settings)
    except OSError as exc:
        return [context.record(Kind.LATENCY, target, method, start, {}, error=f"{method}: {exc}")]
    values = train_statistics(rtts)
    attributes = {"address": address}
    if method == "tcp-connect":
        attributes["tcp_port"] = str(settings.tcp_port)
    error = None if values.get("loss_ratio", 1.0) < 1.0 else f"no reply to {len(rtts)} probes"
    return [context.record(Kind.LATENCY, target, method, start, values, attributes, error)]


def train_statistics(rtts: Rtts) -> dict[str, float]:
    """Min, median, p95 (nearest rank), jitter (mean |consecutive difference|) and loss of a train."""
    received = [rtt for rtt in rtts if rtt is not None]
    values = {"packets_sent": float(len(rtts)), "loss_ratio": 1 - len(received) / len(rtts) if rtts else 1.0}
    if received:
        ordered = sorted(received)
        values |= {
            "rtt_min_seconds": ordered[0],
            "rtt_median_seconds": statistics.median(ordered),
            "rtt_p95_seconds": nearest_rank(ordered, 0.95),
        }
    if len(received) > 1:
        values["jitter_seconds"] = statistics.fmean(abs(b - a) for a, b in zip(received, received[1:]))
    return values


def choose_method(preferred: str) -> str:
    """The method to use: the configured one, or for 'auto' the best this process is allowed."""
    if preferred != "auto":
        return preferred
    if os.geteuid() == 0:
        return "icmp-raw"
    return "icmp-datagram" if datagram_allowed() else "tcp-connect"


def datagram_allowed(path: Path = PING_GROUP_RANGE) -> bool:
    """True if one of this process's groups lies in net.ipv4.ping_group_range."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return False
    return any(low <= group <= high for group in {os.getgid(), *os.getgroups()})


def _raw_train(address: str, settings: IcmpModule) -> Rtts:
    """Raw ICMP with scapy: one batched sr() of the whole train; replies carry kernel receive timestamps."""
    from probes.packets import ICMP, IP, sr

    identifier = random.randrange(1, 0xFFFF)      # random: many schools share one carrier NAT
    payload = os.urandom(settings.payload_bytes)
    packets = [IP(dst=address) / ICMP(id=identifier, seq=sequence) / payload for sequence in range(settings.count)]
    answered, _ = sr(packets, inter=settings.interval_seconds, timeout=settings.timeout_seconds, verbose=0)
    rtts: Rtts = [None] * settings.count
    for sent, reply in answered:
        rtts[sent[ICMP].seq] = float(reply.time) - float(sent.sent_time)
    return rtts


def _datagram_train(address: str, settings: IcmpModule) -> Rtts:
    """Unprivileged ICMP echo (SOCK_DGRAM, IPPROTO_ICMP); the kernel sets the id, replies carry SO_TIMESTAMPNS."""
    rtts: Rtts = [None] * settings.count
    sent_at: dict[int, float] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as sock:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        payload = os.urandom(settings.payload_bytes)
        next_send, sequence = time.monotonic(), 0
        deadline = None
        while True:
            now = time.monotonic()
            if sequence < settings.count and now >= next_send:
                header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, 0, sequence)
                sent_at[sequence] = time.time()
                sock.sendto(header + payload, (address, 0))
                sequence += 1
                next_send = now + settings.interval_seconds
                if sequence == settings.count:
                    deadline = now + settings.timeout_seconds
            if deadline is not None and (now >= deadline or all(rtt is not None for rtt in rtts)):
                return rtts
            wait = (deadline if deadline is not None else next_send) - time.monotonic()
            if select.select([sock], [], [], max(0.0, wait))[0]:
                _receive_reply(sock, sent_at, rtts)


def _receive_reply(sock: socket.socket, sent_at: dict[int, float], rtts: Rtts) -> None:
    data, ancillary, _, _ = sock.recvmsg(2048, socket.CMSG_SPACE(16))
    received = time.time()
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", value[:16])
            received = seconds + nanoseconds / 1e9
    if len(data) < 8 or data[0] != ECHO_REPLY:
        return
    sequence = struct.unpack("!H", data[6:8])[0]
    if sequence in sent_at and rtts[sequence] is None:
        rtts[sequence] = received - sent_at[sequence]


async def _tcp_train(address: str, settings: IcmpModule) -> Rtts:
    """TCP handshakes to `tcp_port`: a SYN-ACK or a RST both answer, a timeout is a loss."""
    rtts: Rtts = []
    for sequence in range(settings.count):
        if sequence:
            await asyncio.sleep(settings.interval_seconds)
        started = time.perf_counter()
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(address, settings.tcp_port),
                                               settings.timeout_seconds)
            rtts.append(time.perf_counter() - started)
            writer.transport.abort()
        except ConnectionRefusedError:
            rtts.append(time.perf_counter() - started)
        except (TimeoutError, OSError):
            rtts.append(None)
    return rtts
