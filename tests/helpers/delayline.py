"""A packet delay line: holds every IP packet that the kernel routes into a TUN device for a fixed time.

It runs inside the router namespace of a `NetworkPath`. Policy routing sends every packet that
arrives from the school or the centre into the TUN device; this program reads it, keeps it for
`--delay` seconds, and writes it back, after which the kernel routes it on to its destination. It
forwards packets and never terminates TCP, so what is measured is the path, not a relay.

    python -m tests.helpers.delayline --device dl0 --delay 0.025 --seconds 600

It stops by itself after `--seconds` or on SIGTERM.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import struct
import sys
import time
from collections import deque

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65535
MAX_HELD = 200_000          # packets; beyond it the line drops, like a full queue


def open_tun(name: str) -> int:
    """Attach to the (persistent) TUN device `name`; return a non-blocking file descriptor."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def run(fd: int, delay: float, deadline: float) -> None:
    """Forward packets with the delay until the deadline (monotonic seconds) or SIGTERM."""
    held: deque[tuple[float, bytes]] = deque()
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not stopping and time.monotonic() < deadline:
        now = time.monotonic()
        while held and held[0][0] <= now:
            try:
                os.write(fd, held.popleft()[1])
            except OSError:
                pass                 # an unroutable packet: dropped, as a router would
        wait_ms = 100 if not held else max(0.0, (held[0][0] - now) * 1000)
        if not poller.poll(wait_ms):
            continue
        due = time.monotonic() + delay
        for _ in range(256):
            try:
                packet = os.read(fd, MAX_PACKET)
            except BlockingIOError:
                break
            if len(held) < MAX_HELD:
                held.append((due, packet))


def main() -> None:
    """Parse arguments and run the delay line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", required=True)
    parser.add_argument("--delay", type=float, required=True, help="seconds each packet is held")
    parser.add_argument("--seconds", type=float, default=600, help="stop after this long")
    args = parser.parse_args()
    fd = open_tun(args.device)
    print("ready", flush=True)
    run(fd, args.delay, time.monotonic() + args.seconds)
    sys.exit(0)


if __name__ == "__main__":
    main()
