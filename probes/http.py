"""HTTP(S) reachability of an education platform with phase timings and the TLS certificate's issuer.

Phases (seconds, each from the start of the probe): DNS, TCP connect, TLS handshake, first byte of
the answer, and total. The issuer is recorded on every HTTPS result — a filtering proxy that
intercepts TLS shows up as an unexpected issuer, or as a verification failure that still names it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

from core import __version__
from core.measurement import Kind, Measurement
from probes.config import HttpModule, Module
from probes.context import ProbeContext
from probes.resolve import resolve_ipv4

SERVER_ERROR = 500


async def probe_http(target: str, module: Module, context: ProbeContext) -> list[Measurement]:
    """GET `target` (an http:// or https:// URL); one record with status, timings, bytes and issuer."""
    settings = module.http
    start = datetime.now(timezone.utc)
    url = urlsplit(target)
    if url.scheme not in ("http", "https") or not url.hostname:
        return [context.record(Kind.HTTP, target, "http-get", start, {}, error=f"url={target!r}: not an http(s) URL")]
    timings: dict[str, float] = {}
    attributes: dict[str, str] = {}
    try:
        status, body_bytes = await asyncio.wait_for(_get(url, settings, timings, attributes), settings.timeout_seconds)
    except TimeoutError:
        error = f"no complete answer within {settings.timeout_seconds:g} s"
    except ssl.SSLCertVerificationError as exc:
        error = f"tls: {exc.verify_message}"
        attributes["tls_issuer"] = await _unverified_issuer(url, attributes.get("address", ""), settings)
    except (OSError, ssl.SSLError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        values = timings | {"status_code": float(status), "body_bytes": float(body_bytes)}
        error = f"HTTP {status}" if status >= SERVER_ERROR else None
        return [context.record(Kind.HTTP, target, "http-get", start, values, attributes, error)]
    return [context.record(Kind.HTTP, target, "http-get", start, timings, attributes, error)]


async def _get(url, settings: HttpModule, timings: dict[str, float], attributes: dict[str, str]) -> tuple[int, int]:
    """Do the request, filling `timings` phase by phase so that a failure still reports what was reached."""
    began = time.perf_counter()
    address = await resolve_ipv4(url.hostname, settings.timeout_seconds)
    timings["dns_seconds"] = time.perf_counter() - began
    attributes["address"] = address
    secure = url.scheme == "https"
    reader, writer = await asyncio.open_connection(address, url.port or (443 if secure else 80))
    try:
        timings["connect_seconds"] = time.perf_counter() - began
        if secure:
            await writer.start_tls(_tls_context(settings), server_hostname=url.hostname)
            timings["tls_seconds"] = time.perf_counter() - began
            attributes["tls_issuer"] = certificate_issuer(writer.get_extra_info("ssl_object"))
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nUser-Agent: mektepnet-probe/{__version__}\r\n"
                     "Accept-Encoding: identity\r\nConnection: close\r\n\r\n".encode("ascii"))
        await writer.drain()
        status_line = await reader.readline()
        timings["first_byte_seconds"] = time.perf_counter() - began
        status = _status(status_line)
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        body_bytes = 0
        while body_bytes < settings.max_body_bytes and (chunk := await reader.read(65536)):
            body_bytes += len(chunk)
        timings["total_seconds"] = time.perf_counter() - began
        return status, body_bytes
    finally:
        writer.transport.abort()


def _status(line: bytes) -> int:
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {line[:60]!r}")
    return int(parts[1])


def _tls_context(settings: HttpModule, verify: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def certificate_issuer(ssl_object: ssl.SSLObject | None) -> str:
    """The issuer of the peer's certificate as an RFC 4514 string ('' when there is none)."""
    from cryptography import x509

    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return x509.load_der_x509_certificate(der).issuer.rfc4514_string() if der else ""


async def _unverified_issuer(url, address: str, settings: HttpModule) -> str:
    """Who issued the certificate that failed verification: a second handshake that does not verify."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            address or url.hostname, url.port or 443, ssl=_tls_context(settings, verify=False),
            server_hostname=url.hostname), settings.timeout_seconds)
    except (OSError, TimeoutError, ssl.SSLError):
        return ""
    try:
        return certificate_issuer(writer.get_extra_info("ssl_object"))
    finally:
        writer.transport.abort()
