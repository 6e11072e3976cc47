"""The kernel's TCP_INFO for a socket (Linux `struct tcp_info`), in the units ndt7 uses: bytes and µs."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

# struct tcp_info up to tcpi_reord_seen (Linux >= 4.19); older kernels return less and we stop there.
_LAYOUT = struct.Struct("=8B24I2Q2Q4I2I" "4Q" "2I" "2Q" "2I")
_NAMES = (
    ["state", "ca_state", "retransmits", "probes", "backoff", "options", "wscale", "app_limited"]
    + ["rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets",
       "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu", "rcv_ssthresh", "rtt",
       "rttvar", "snd_ssthresh", "snd_cwnd", "advmss", "reordering", "rcv_rtt", "rcv_space", "total_retrans"]
    + ["pacing_rate", "max_pacing_rate", "bytes_acked", "bytes_received", "segs_out", "segs_in", "notsent_bytes",
       "min_rtt", "data_segs_in", "data_segs_out"]
    + ["delivery_rate", "busy_time", "rwnd_limited", "sndbuf_limited"]
    + ["delivered", "delivered_ce"]
    + ["bytes_sent", "bytes_retrans"]
    + ["dsack_dups", "reord_seen"]
)


@dataclass(frozen=True)
class KernelTcpInfo:
    """The fields ndt7 reports. Times in µs, amounts in bytes, as the kernel gives them."""

    rtt: int
    rttvar: int
    min_rtt: int
    bytes_acked: int
    bytes_received: int
    bytes_sent: int
    bytes_retrans: int
    busy_time: int
    rwnd_limited: int
    sndbuf_limited: int
    snd_cwnd: int


def read_tcp_info(sock: socket.socket) -> KernelTcpInfo | None:
    """TCP_INFO of a connected TCP socket, or None where the kernel does not offer it."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _LAYOUT.size)
    except (OSError, AttributeError):
        return None
    padded = raw + bytes(_LAYOUT.size - len(raw))
    fields = dict(zip(_NAMES, _LAYOUT.unpack(padded), strict=True))
    return KernelTcpInfo(**{name: fields[name] for name in KernelTcpInfo.__dataclass_fields__})
