"""ndt7 constants, as the specification states them (m-lab/ndt-server, spec/ndt7-protocol.md v0.11.0)."""

from __future__ import annotations

# "The client MUST request the net.measurementlab.ndt.v7 subprotocol; the server MUST echo it."
SUBPROTOCOL = "net.measurementlab.ndt.v7"
DOWNLOAD_PATH = "/ndt/v7/download"
UPLOAD_PATH = "/ndt/v7/upload"

# "Binary messages ... start at 8 KiB; the size doubles whenever it is smaller than 1/16 of the bytes
# sent so far; senders cap at 1 MiB; receivers MUST accept messages up to 16 MiB."
MIN_MESSAGE_SIZE = 1 << 13
MAX_SCALED_MESSAGE_SIZE = 1 << 20
MAX_MESSAGE_SIZE = 1 << 24
SCALING_FRACTION = 16

# "Each subtest lasts up to 10 s, counted from the end of the WebSocket handshake; either side may
# close the connection after 13 s."
DEFAULT_RUNTIME_SECONDS = 10.0
MAX_RUNTIME_SECONDS = 13.0

# Measurement messages: "at most ~10 per second"; the reference server samples at Poisson intervals
# with a 250 ms mean. We clamp the draws to [100 ms, 1 s] so the rate cap always holds.
MEASUREMENT_MEAN_INTERVAL_SECONDS = 0.25
MEASUREMENT_MIN_INTERVAL_SECONDS = 0.10
MEASUREMENT_MAX_INTERVAL_SECONDS = 1.0

# Metadata: "query-string parameters, at most 4096 bytes, no duplicate keys".
MAX_QUERY_BYTES = 4096
# `early_exit=250` on the download ends it after 250 MB (the only value the spec defines).
EARLY_EXIT_MEGABYTES = (250,)

# Our extension (other servers ignore it): the client's byte cap for the subtest, so the server never
# sends more than a school has agreed to spend.
MAX_BYTES_PARAMETER = "mektepnet_max_bytes"
# The probe's token: rate limits are per token, never per IP (carrier NAT hides many schools behind one).
TOKEN_PARAMETER = "access_token"

# Unattended clients: wait an exponential time between tests, mean 6 h, clamped to [36 min, 15 h].
UNATTENDED_MEAN_WAIT_SECONDS = 6 * 3600
UNATTENDED_MIN_WAIT_SECONDS = 36 * 60
UNATTENDED_MAX_WAIT_SECONDS = 15 * 3600

DOWNLOAD = "download"
UPLOAD = "upload"
PATHS = {DOWNLOAD_PATH: DOWNLOAD, UPLOAD_PATH: UPLOAD}


def next_message_size(current: int, bytes_sent: int) -> int:
    """The size of the next binary message: doubled while it is under 1/16 of what was sent, capped."""
    if current < MAX_SCALED_MESSAGE_SIZE and current < bytes_sent / SCALING_FRACTION:
        return current * 2
    return current
