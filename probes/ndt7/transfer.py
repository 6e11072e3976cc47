"""The two halves of a subtest, shared by client and server: sending random binary messages with the
spec's size scaling, and sampling TCP_INFO into measurement messages at Poisson intervals."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from probes.ndt7 import spec
from probes.ndt7.tcpinfo import KernelTcpInfo, read_tcp_info
from probes.ndt7.wire import AppInfoData, ConnectionInfoData, Ndt7Measurement, TCPInfoData

# One random buffer for every message: random bytes defeat compression anywhere on the path.
_PAYLOAD = memoryview(os.urandom(spec.MAX_SCALED_MESSAGE_SIZE))
# Unsent bytes the kernel may hold for a sender. Without a bound the send buffer grows to megabytes,
# the sender "finishes" at 10 s while seconds of data still wait in its socket, and the test overruns.
NOTSENT_LOWAT_BYTES = 256 * 1024
_TCP_NOTSENT_LOWAT = getattr(socket, "TCP_NOTSENT_LOWAT", 25)


def limit_unsent(sock) -> None:
    """Bound the unsent data a sending socket may queue (Linux TCP_NOTSENT_LOWAT)."""
    with suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_NOTSENT_LOWAT, NOTSENT_LOWAT_BYTES)


@dataclass
class Progress:
    """A subtest's progress: its start (monotonic seconds) and application bytes moved so far."""

    started: float = field(default_factory=time.monotonic)
    app_bytes: int = 0

    def elapsed(self) -> float:
        """Seconds since the handshake ended."""
        return time.monotonic() - self.started

    def elapsed_us(self) -> int:
        """µs since the handshake ended, as ndt7's ElapsedTime."""
        return int(self.elapsed() * 1e6)


async def send_messages(ws, progress: Progress, deadline: float, max_bytes: int | None) -> str:
    """Send binary messages until `deadline` (monotonic) or `max_bytes`; return why it stopped.

    Guaranteed to stop by the deadline plus one message's send time; a peer that stops reading is
    cut off by the caller's overall timeout.
    """
    limit_unsent(ws.transport.get_extra_info("socket"))
    size = spec.MIN_MESSAGE_SIZE
    while time.monotonic() < deadline:
        if max_bytes is not None:
            size = min(size, max_bytes - progress.app_bytes)
            if size <= 0:
                return "byte cap"
        await ws.send(_PAYLOAD[:size])
        progress.app_bytes += size
        size = spec.next_message_size(size, progress.app_bytes)
    return "full duration"


def poisson_interval(rng: random.Random) -> float:
    """The wait before the next measurement: exponential around 250 ms, clamped to [100 ms, 1 s]."""
    draw = rng.expovariate(1 / spec.MEASUREMENT_MEAN_INTERVAL_SECONDS)
    return min(max(draw, spec.MEASUREMENT_MIN_INTERVAL_SECONDS), spec.MEASUREMENT_MAX_INTERVAL_SECONDS)


@dataclass
class Measurer:
    """Builds measurement messages from the connection's TCP_INFO; keeps every kernel sample it read."""

    sock: object
    progress: Progress
    origin: str
    test: str
    connection: ConnectionInfoData
    samples: list[tuple[float, KernelTcpInfo]] = field(default_factory=list)

    def message(self) -> Ndt7Measurement:
        """A measurement message for now (ConnectionInfo is sent with every message: cheap, and robust)."""
        elapsed = self.progress.elapsed_us()
        info = read_tcp_info(self.sock)
        if info is not None:
            self.samples.append((elapsed / 1e6, info))
        return Ndt7Measurement(
            AppInfo=AppInfoData(ElapsedTime=elapsed, NumBytes=self.progress.app_bytes),
            ConnectionInfo=self.connection, Origin=self.origin, Test=self.test,
            TCPInfo=TCPInfoData.from_kernel(info, elapsed) if info is not None else None,
        )

    async def run(self, send: Callable[[str], object] | None, seed: int | None = None) -> None:
        """Measure at Poisson intervals until cancelled, sending each message when `send` is given."""
        rng = random.Random(seed)
        while True:
            await asyncio.sleep(poisson_interval(rng))
            message = self.message()
            if send is not None:
                await send(message.to_json())
