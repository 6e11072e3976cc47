"""A small HTTP/1.1 client on asyncio streams, shared by the HTTP prober and the uploader.

One request per connection (`Connection: close`), phase by phase: each phase's end time (seconds from
the start) is written into `timings` as soon as it is reached, so a request that fails still tells
how far it got. Bodies may be sized by Content-Length, chunked, or end with the connection. The
probe uses this rather than a full client library to stay small on school boxes (see
docs/benchmarks.md: footprint).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from core import __version__
from probes.certificate import issuer_of
from probes.resolve import resolve_ipv4

USER_AGENT = f"mektepnet-probe/{__version__}"
MAX_HEADER_LINES = 100


@dataclass
class Response:
    """Status, headers (lower-case names) and the body read (up to the caller's limit)."""

    status: int
    headers: dict[str, str]
    body: bytes
    body_bytes: int


@dataclass
class Trace:
    """What a request reached: phase end times in seconds from its start, the address and the TLS issuer."""

    timings: dict[str, float] = field(default_factory=dict)
    address: str = ""
    tls_issuer: str | None = None


async def request(method: str, url: str | SplitResult, body: bytes = b"", headers: dict[str, str] | None = None,
                  tls: ssl.SSLContext | None = None, max_body_bytes: int = 10_000_000,
                  trace: Trace | None = None, resolve_timeout_seconds: float = 10.0) -> Response:
    """Send one request and read the answer; raises OSError, ssl.SSLError, ValueError or EOFError.

    Bodies beyond `max_body_bytes` are counted (`body_bytes`) but not kept.
    """
    parts = urlsplit(url) if isinstance(url, str) else url
    trace = trace if trace is not None else Trace()
    secure = parts.scheme == "https"
    began = time.perf_counter()
    trace.address = await resolve_ipv4(parts.hostname, resolve_timeout_seconds)
    trace.timings["dns_seconds"] = time.perf_counter() - began
    reader, writer = await asyncio.open_connection(trace.address, parts.port or (443 if secure else 80))
    try:
        trace.timings["connect_seconds"] = time.perf_counter() - began
        if secure:
            await writer.start_tls(tls or ssl.create_default_context(), server_hostname=parts.hostname)
            trace.timings["tls_seconds"] = time.perf_counter() - began
            trace.tls_issuer = issuer_of(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"User-Agent: {USER_AGENT}",
                 "Accept-Encoding: identity", "Connection: close", f"Content-Length: {len(body)}",
                 *(f"{name}: {value}" for name, value in (headers or {}).items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status = _status(await reader.readline())
        trace.timings["first_byte_seconds"] = time.perf_counter() - began
        answer_headers = await _headers(reader)
        kept, counted = await _body(reader, answer_headers, max_body_bytes)
        trace.timings["total_seconds"] = time.perf_counter() - began
        return Response(status, answer_headers, kept, counted)
    finally:
        writer.transport.abort()


def _status(line: bytes) -> int:
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {line[:60]!r}")
    return int(parts[1])


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    raise ValueError(f"more than {MAX_HEADER_LINES} header lines")


async def _body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> tuple[bytes, int]:
    """(the first `limit` bytes of the body, its full length as received)."""
    kept, counted = bytearray(), 0

    def take(chunk: bytes) -> None:
        nonlocal counted
        if len(kept) < limit:
            kept.extend(chunk[: limit - len(kept)])
        counted += len(chunk)

    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await reader.readline()
            if not line:
                raise EOFError("the chunked body ended before its last chunk")
            size = int(line.split(b";")[0].strip() or b"0", 16)     # ValueError for a malformed size
            if size == 0:
                break
            while size:                                              # a server's chunk size is not trusted
                piece = await reader.readexactly(min(size, 65536))
                take(piece)
                size -= len(piece)
            if await reader.readline() not in (b"\r\n", b"\n"):
                raise ValueError("a chunk is not followed by CRLF")
        return bytes(kept), counted
    remaining = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
    while remaining is None or remaining > 0:
        chunk = await reader.read(65536 if remaining is None else min(65536, remaining))
        if not chunk:
            if remaining:
                raise EOFError(f"the body ended {remaining} bytes early")
            break
        take(chunk)
        if remaining is not None:
            remaining -= len(chunk)
    return bytes(kept), counted


async def json_request(method: str, url: str, payload: object = None, token: str | None = None,
                       tls: ssl.SSLContext | None = None, timeout_seconds: float = 30.0) -> Response:
    """A JSON API call to the collector (bearer token when given), bounded by `timeout_seconds` in all."""
    headers = {"Accept": "application/json"}
    body = b""
    if payload is not None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await asyncio.wait_for(request(method, url, body, headers, tls, resolve_timeout_seconds=timeout_seconds),
                                  timeout_seconds)


TRANSPORT_ERRORS = (OSError, ssl.SSLError, ValueError, EOFError, TimeoutError)
