"""A delaying ICMP echo responder that logs how long it held each request, from kernel timestamps.

Run inside a namespace whose kernel echo replies are switched off
(net.ipv4.icmp_echo_ignore_all=1). Each echo request is stamped by the kernel on arrival
(SO_TIMESTAMPNS), held for `--delay` seconds, answered, and its hold time — wall time just after
the reply's sendto() minus the kernel's arrival stamp — is logged as one JSON line
{"id", "seq", "hold_seconds"}. Probe RTT accuracy is judged against these holds, not against the
nominal delay, because user-space timers fire late.

    python -m tests.helpers.echoresponder --delay 0.05 --log holds.jsonl --seconds 120

It stops by itself after `--seconds` or on SIGTERM.
"""

from __future__ import annotations

import argparse
import heapq
import json
import select
import signal
import socket
import struct
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def reply_to(request_icmp: bytes) -> bytes:
    """The echo reply for an echo request's ICMP part: type 0, same id, sequence and payload."""
    body = b"\0\0\0\0" + request_icmp[4:]
    unsummed = b"\0" + body[1:]
    return unsummed[:2] + struct.pack("!H", checksum(unsummed)) + unsummed[4:]


def serve(delay: float, log_path: str, deadline: float) -> None:
    """Answer echo requests with the delay until the deadline or SIGTERM."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    held: list[tuple[float, int, bytes, str, float, int, int]] = []
    order = 0
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        print("ready", flush=True)
        while not stopping and time.monotonic() < deadline:
            now = time.time()
            while held and held[0][0] <= now:
                _, _, reply, address, arrived, identifier, sequence = heapq.heappop(held)
                sock.sendto(reply, (address, 0))
                log.write(json.dumps({"id": identifier, "seq": sequence, "hold_seconds": time.time() - arrived}) + "\n")
                now = time.time()
            wait = min(0.1, held[0][0] - now) if held else 0.1
            if not select.select([sock], [], [], max(0.0, wait))[0]:
                continue
            packet, ancillary, _, (address, _) = sock.recvmsg(65535, socket.CMSG_SPACE(16))
            arrived = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    arrived = seconds + nanoseconds / 1e9
            icmp = packet[(packet[0] & 0x0F) * 4:]
            if len(icmp) < 8 or icmp[0] != 8:
                continue                       # not an echo request (our own replies come back here too)
            identifier, sequence = struct.unpack("!HH", icmp[4:8])
            order += 1
            heapq.heappush(held, (arrived + delay, order, reply_to(icmp), address, arrived, identifier, sequence))


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, required=True, help="seconds to hold each request")
    parser.add_argument("--log", required=True, help="JSON lines file of hold times")
    parser.add_argument("--seconds", type=float, default=300, help="stop after this long")
    args = parser.parse_args()
    serve(args.delay, args.log, time.monotonic() + args.seconds)


if __name__ == "__main__":
    main()
