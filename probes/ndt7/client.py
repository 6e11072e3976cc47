"""The ndt7 client: a download then an upload subtest, measured as the spec says, with an adaptive budget.

Goodput (spec): download = payload bytes the client received x 8 / elapsed; upload = the server's
TCPInfo.BytesReceived x 8 / its ElapsedTime (the client's own acknowledged bytes when a server sends
no measurements). Latency: MinRTT is the idle path; the median kernel RTT of the sender while the
subtest runs is the latency under load (bufferbloat).
"""

from __future__ import annotations

import asyncio
import platform
import ssl
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core import __version__
from probes.ndt7 import spec
from probes.ndt7.budget import RateEstimator, Stable, StopRule
from probes.ndt7.servers import DEFAULT_MAX_BYTES
from probes.ndt7.tcpinfo import KernelTcpInfo, read_tcp_info
from probes.ndt7.transfer import Progress, send_messages
from probes.ndt7.wire import MalformedMessage, Ndt7Measurement, parse_message


class Ndt7Error(Exception):
    """A subtest could not run; `busy` when the server refused for capacity or rate (try another)."""

    def __init__(self, message: str, busy: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.busy = busy
        self.retry_after = retry_after


@dataclass(frozen=True)
class ClientOptions:
    """How the client tests: adaptive (default) or full 10 s, a byte cap per subtest, token and TLS.

    `token_source`, when set, is asked for a fresh access token for each subtest (given the test name)
    and overrides `token`: signed tokens are scoped to one subtest and expire within minutes.
    """

    adaptive: bool = True
    max_bytes: int | None = DEFAULT_MAX_BYTES
    token: str | None = None
    token_source: Callable[[str], Awaitable[str]] | None = None
    stop_rule: StopRule = field(default_factory=StopRule)
    ca_file: Path | None = None
    verify_tls: bool = True
    connect_timeout_seconds: float = 10.0
    user_agent: str = f"mektepnet-probe/{__version__} ({platform.system()})"


@dataclass(frozen=True)
class SubtestResult:
    """One direction's result. Rates in bit/s, times in seconds, amounts in bytes."""

    test: str
    server: str
    uuid: str
    start: datetime
    end: datetime
    throughput_bps: float
    measured_bps: float
    elapsed_seconds: float
    app_bytes: int
    wire_bytes: int
    min_rtt_seconds: float | None
    loaded_rtt_seconds: float | None
    retransmission_ratio: float | None
    stopped_early: bool
    stop_reason: str


@dataclass
class _Run:
    """What one subtest has seen so far."""

    ws: ClientConnection
    test: str
    progress: Progress = field(default_factory=Progress)
    server_messages: list[Ndt7Measurement] = field(default_factory=list)
    own_samples: list[KernelTcpInfo] = field(default_factory=list)
    stable: Stable | None = None
    reason: str = "full duration"
    elapsed: float | None = None
    last_data: float | None = None        # elapsed seconds at the last binary message received


def subtest_url(server: str, test: str, options: ClientOptions) -> str:
    """The URL of a subtest on `server` (ws[s]://host:port), with the byte cap and token as query parameters."""
    query = {spec.MAX_BYTES_PARAMETER: options.max_bytes, spec.TOKEN_PARAMETER: options.token}
    url = f"{server.rstrip('/')}{spec.DOWNLOAD_PATH if test == spec.DOWNLOAD else spec.UPLOAD_PATH}"
    present = {key: value for key, value in query.items() if value is not None}
    return f"{url}?{urlencode(present)}" if present else url


async def run_subtest(server: str, test: str, options: ClientOptions,
                      on_progress: Callable[[str, float, float], None] | None = None,
                      url: str | None = None) -> SubtestResult:
    """Run one subtest against `server` (or at a full `url` a locator handed out); raise Ndt7Error."""
    if options.token_source is not None and url is None:
        options = replace(options, token=await options.token_source(test))
    url = url or subtest_url(server, test, options)
    shown = url.split("?", 1)[0]             # errors end up in records: never with the access token
    wall_start = datetime.now(timezone.utc)
    try:
        async with connect(url, subprotocols=[spec.SUBPROTOCOL], max_size=spec.MAX_MESSAGE_SIZE,
                           compression=None, ping_interval=None, close_timeout=2, max_queue=2,
                           open_timeout=options.connect_timeout_seconds, user_agent_header=options.user_agent,
                           ssl=_tls(url, options)) as ws:
            run = _Run(ws, test)
            async with asyncio.timeout(spec.MAX_RUNTIME_SECONDS + 2):
                await _transfer(run, options, on_progress)
    except InvalidStatus as exc:
        status = exc.response.status_code
        retry = exc.response.headers.get("Retry-After")
        raise Ndt7Error(f"{shown}: HTTP {status} {exc.response.body.decode(errors='replace').strip()}",
                        busy=status in (429, 503), retry_after=float(retry) if retry else None) from None
    except (OSError, TimeoutError, ConnectionClosed) as exc:
        raise Ndt7Error(f"{shown}: {exc.__class__.__name__}: {exc}", busy=isinstance(exc, OSError)) from None
    return _result(run, server, wall_start, options)


async def _transfer(run: _Run, options: ClientOptions, on_progress) -> None:
    """Move data until the server ends the subtest, the rate is stable, or the byte cap is reached."""
    sock = run.ws.transport.get_extra_info("socket")
    first = read_tcp_info(sock)
    if first is not None:
        run.own_samples.append(first)
    estimator = RateEstimator(options.stop_rule, first.min_rtt / 1e6 if first and first.min_rtt else None)
    stop = asyncio.Event()

    async def sample() -> None:
        while True:
            await asyncio.sleep(options.stop_rule.sample_interval_seconds)
            info = read_tcp_info(sock)
            if info is None:
                continue
            run.own_samples.append(info)
            moved = info.bytes_received if run.test == spec.DOWNLOAD else info.bytes_acked
            elapsed = run.progress.elapsed()
            estimator.add(elapsed, moved)
            if on_progress:
                on_progress(run.test, elapsed, moved * 8 / elapsed)
            if options.max_bytes and run.test == spec.DOWNLOAD and run.progress.app_bytes >= options.max_bytes:
                run.reason = "byte cap"
                stop.set()
            if options.adaptive and (stable := estimator.stable()) is not None:
                run.stable, run.reason = stable, "stable"
                stop.set()
            if elapsed >= spec.MAX_RUNTIME_SECONDS:      # a server that overruns: the spec lets us close
                run.reason = "full duration"
                stop.set()

    async def receive() -> None:
        async for message in run.ws:
            if isinstance(message, str):
                try:
                    run.server_messages.append(parse_message(message))
                except MalformedMessage:
                    pass              # a foreign server's oddity must not void the subtest
            else:
                run.progress.app_bytes += len(message)
                run.last_data = run.progress.elapsed()

    async def send() -> None:
        deadline = run.progress.started + spec.DEFAULT_RUNTIME_SECONDS
        run.reason = await send_messages(run.ws, run.progress, deadline, options.max_bytes)

    workers = [asyncio.create_task(sample()), asyncio.create_task(receive())]
    if run.test == spec.UPLOAD:
        workers.append(asyncio.create_task(send()))
    waiter = asyncio.create_task(stop.wait())
    ending = workers[1] if run.test == spec.DOWNLOAD else workers[2]
    await asyncio.wait([ending, waiter], return_when=asyncio.FIRST_COMPLETED)
    # A download's data ends with its last binary message, not with the closing handshake.
    run.elapsed = run.last_data if run.test == spec.DOWNLOAD and run.last_data else run.progress.elapsed()
    if options.max_bytes and run.progress.app_bytes >= options.max_bytes:
        run.reason = "byte cap"
    for task in [*workers, waiter]:
        task.cancel()
    await asyncio.gather(*workers, waiter, return_exceptions=True)
    final = read_tcp_info(sock)             # the wire totals at the end, however short the test was
    if final is not None:
        run.own_samples.append(final)
    await run.ws.close()


def _result(run: _Run, server: str, wall_start: datetime, options: ClientOptions) -> SubtestResult:
    elapsed = run.elapsed or run.progress.elapsed()
    last_server = next((m for m in reversed(run.server_messages) if m.TCPInfo and m.TCPInfo.ElapsedTime), None)
    own = run.own_samples[-1] if run.own_samples else None
    if run.test == spec.DOWNLOAD:
        measured = run.progress.app_bytes * 8 / elapsed
        # The last kernel sample may predate the end when the server closed first: never below the payload.
        wire = max(own.bytes_received if own else 0, run.progress.app_bytes)
        sender_rtts = [m.TCPInfo.RTT for m in run.server_messages if m.TCPInfo and m.TCPInfo.RTT]
        retrans = _ratio(last_server.TCPInfo.BytesRetrans, last_server.TCPInfo.BytesSent) if last_server else None
    else:
        if last_server and last_server.TCPInfo.BytesReceived:
            measured = last_server.TCPInfo.BytesReceived * 8 / (last_server.TCPInfo.ElapsedTime / 1e6)
        else:
            measured = (own.bytes_acked if own else run.progress.app_bytes) * 8 / elapsed
        wire = max(own.bytes_sent if own else 0, run.progress.app_bytes)
        sender_rtts = [s.rtt for s in run.own_samples if s.rtt]
        retrans = _ratio(own.bytes_retrans, own.bytes_sent) if own else None
    min_rtts = [s.min_rtt for s in run.own_samples if s.min_rtt]
    min_rtts += [m.TCPInfo.MinRTT for m in run.server_messages if m.TCPInfo and m.TCPInfo.MinRTT]
    stopped_early = run.reason in ("stable", "byte cap") and elapsed < spec.DEFAULT_RUNTIME_SECONDS - 0.5
    throughput = run.stable.projected_bps() if run.reason == "stable" and run.stable else measured
    uuid = next((m.ConnectionInfo.UUID for m in run.server_messages if m.ConnectionInfo), "")
    return SubtestResult(
        test=run.test, server=server, uuid=uuid, start=wall_start,
        end=datetime.now(timezone.utc), throughput_bps=throughput, measured_bps=measured,
        elapsed_seconds=elapsed, app_bytes=run.progress.app_bytes, wire_bytes=wire,
        min_rtt_seconds=min(min_rtts) / 1e6 if min_rtts else None,
        loaded_rtt_seconds=statistics.median(sender_rtts) / 1e6 if sender_rtts else None,
        retransmission_ratio=retrans, stopped_early=stopped_early, stop_reason=run.reason,
    )


def _ratio(part: int | None, whole: int | None) -> float | None:
    return min(part / whole, 1.0) if part is not None and whole else None


def _tls(url: str, options: ClientOptions) -> ssl.SSLContext | None:
    if not url.startswith("wss://"):
        return None
    context = ssl.create_default_context(cafile=options.ca_file)
    if not options.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def run_test(server: str, options: ClientOptions = ClientOptions(),
                   on_progress: Callable[[str, float, float], None] | None = None) -> list[SubtestResult]:
    """Download, then upload, against one server."""
    download = await run_subtest(server, spec.DOWNLOAD, options, on_progress)
    upload = await run_subtest(server, spec.UPLOAD, options, on_progress)
    return [download, upload]

