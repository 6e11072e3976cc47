"""HTTP(S) reachability of an education platform with phase timings and the TLS certificate's issuer.

Phases (seconds, each from the start of the probe): DNS, TCP connect, TLS handshake, first byte of
the answer, and total. The issuer is recorded on every HTTPS result — a filtering proxy that
intercepts TLS shows up as an unexpected issuer, or as a verification failure that still names it.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from datetime import datetime, timezone
from urllib.parse import urlsplit

from core.measurement import Kind, Measurement
from probes.config import HttpModule, Module
from probes.context import ProbeContext
from probes.http1 import Trace, request

SERVER_ERROR = 500


async def probe_http(target: str, module: Module, context: ProbeContext) -> list[Measurement]:
    """GET `target` (an http:// or https:// URL); one record with status, timings, bytes and issuer."""
    settings = module.http
    start = datetime.now(timezone.utc)
    url = urlsplit(target)
    if url.scheme not in ("http", "https") or not url.hostname:
        return [context.record(Kind.HTTP, target, "http-get", start, {}, error=f"url={target!r}: not an http(s) URL")]
    trace = Trace()
    values: dict[str, float] = {}
    try:
        answer = await asyncio.wait_for(request("GET", url, tls=_tls_context(settings), trace=trace,
                                                max_body_bytes=settings.max_body_bytes,
                                                resolve_timeout_seconds=settings.timeout_seconds),
                                        settings.timeout_seconds)
    except TimeoutError:
        error = f"no complete answer within {settings.timeout_seconds:g} s"
    except ssl.SSLCertVerificationError as exc:
        error = f"tls: {exc.verify_message}"
        trace.tls_issuer = await _unverified_issuer(url, trace.address, settings)
    except (OSError, ssl.SSLError, ValueError, EOFError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        values = {"status_code": float(answer.status), "body_bytes": float(answer.body_bytes)}
        error = f"HTTP {answer.status}" if answer.status >= SERVER_ERROR else None
    attributes = {"address": trace.address} if trace.address else {}
    if trace.tls_issuer is not None:
        attributes["tls_issuer"] = trace.tls_issuer
    return [context.record(Kind.HTTP, target, "http-get", start, trace.timings | values, attributes, error)]


@functools.lru_cache(maxsize=8)
def _tls_context(settings: HttpModule, verify: bool = True) -> ssl.SSLContext:
    """One context per settings (loading the CA store costs milliseconds on a small box)."""
    context = ssl.create_default_context(cafile=settings.ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def _unverified_issuer(url, address: str, settings: HttpModule) -> str:
    """Who issued the certificate that failed verification: a second handshake that does not verify."""
    from probes.certificate import issuer_of

    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            address or url.hostname, url.port or 443, ssl=_tls_context(settings, verify=False),
            server_hostname=url.hostname), settings.timeout_seconds)
    except (OSError, TimeoutError, ssl.SSLError):
        return ""
    try:
        return issuer_of(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
    finally:
        writer.transport.abort()
