"""Free loopback ports for tests and benchmarks: chosen by the kernel (bind to port 0), released for the
caller to bind soon after."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_udp_port() -> int:
    """A loopback UDP port nobody listens on right now."""
    return free_udp_ports(1)[0]


def free_udp_ports(count: int) -> list[int]:
    """`count` distinct free loopback UDP ports (held open together while chosen, so none repeats)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
