"""`mektepnet ndt7`: run the ministry's ndt7 server, make its token keys, or test against any ndt7 server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, refuses_bad_input
from core import __version__
from core.errors import CoreError
from core.units import format_bit_rate, format_duration
from probes.ndt7 import mlab as mlab_api
from probes.ndt7 import spec
from probes.ndt7.client import ClientOptions, Ndt7Error, SubtestResult, run_test
from probes.context import ProbeContext
from probes.ndt7.records import to_measurement
from probes.ndt7.server import Ndt7Handle, ServerConfig, serve_forever
from probes.ndt7.tokens import TokenVerifier, generate_key_pair

app = typer.Typer(no_args_is_help=True, help="ndt7 throughput tests (M-Lab's protocol): server and client.")


@app.command()
@refuses_bad_input
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8080, "--port", help="TCP port; 0 picks a free one."),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="PEM certificate: serve wss://."),
    tls_key: Path = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    max_concurrent: int = typer.Option(16, "--max-concurrent", help="Subtests at once; beyond it: 503."),
    per_token_per_hour: float = typer.Option(60, "--tests-per-token-per-hour", help="Rate limit per probe."),
    token_public_key: Path = typer.Option(None, "--token-public-key", help="The collector's Ed25519 public key "
                                          "(PEM): accept only access tokens it signed for this server."),
    token_audience: str = typer.Option(None, "--token-audience", help="This server's name in the probes' server "
                                       "list: the audience its tokens must carry (with --token-public-key)."),
    url_file: Path = typer.Option(None, "--url-file", help="Write the bound base URL (ws:// or wss://) to this "
                                  "file once listening (for supervisors and tests; --port 0 picks the port)."),
) -> None:
    """Serve ndt7 download and upload tests, with Prometheus metrics at /metrics on the same port.

    With --token-public-key, a test needs a token the collector signed for this server and this subtest
    (401 missing, invented, expired or altered; 403 for another server or subtest).

    Example: mektepnet ndt7 serve --host 0.0.0.0 --port 443 --tls-cert cert.pem --tls-key key.pem --token-public-key ndt7-public-key.pem --token-audience ndt7-almaty-1
    """
    if (tls_cert is None) != (tls_key is None):
        raise CoreError.one("command line", "--tls-key" if tls_cert else "--tls-cert", None,
                            "--tls-cert and --tls-key go together")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise CoreError.one("command line", option, str(path), "no such file")
    if max_concurrent < 1:
        raise CoreError.one("command line", "--max-concurrent", max_concurrent, "must be at least 1")
    if (token_public_key is None) != (token_audience is None):
        raise CoreError.one("command line", "--token-audience" if token_public_key else "--token-public-key", None,
                            "--token-public-key and --token-audience go together")
    if token_public_key is not None:
        TokenVerifier.from_file(token_public_key, token_audience)      # a bad key file is refused before listening
    config = ServerConfig(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, max_concurrent=max_concurrent,
                          tests_per_token_per_hour=per_token_per_hour, token_public_key=token_public_key,
                          token_audience=token_audience)

    def listening(handle: Ndt7Handle) -> None:
        tokens = f"; tokens for {token_audience!r} required" if token_audience else ""
        console.print(f"ndt7 server listening on {handle.url}{spec.DOWNLOAD_PATH} and {spec.UPLOAD_PATH}; "
                      f"metrics on {handle.metrics_url}{tokens}", highlight=False)
        if url_file is not None:          # whole or absent: a reader never sees half a URL
            partial = url_file.with_name(url_file.name + ".partial")
            partial.write_text(handle.url + "\n", encoding="utf-8")
            partial.replace(url_file)

    try:
        asyncio.run(serve_forever(config, listening))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise CoreError.one("command line", "--port", port, f"cannot listen on {host}:{port}: {exc.strerror}")


@app.command()
@refuses_bad_input
def keygen(out: Path = typer.Option(..., "--out", help="Directory for the two key files (created if absent).")) -> None:
    """Make the Ed25519 key pair of ndt7 access tokens: the private key for the collector, the public one for servers.

    The collector signs with ndt7-signing-key.pem (--ndt7-signing-key; mode 0600, keep it on the collector
    only); every ndt7 server verifies with ndt7-public-key.pem (--token-public-key). Existing files are
    never overwritten.

    Example: mektepnet ndt7 keygen --out /etc/mektepnet/ndt7-keys
    """
    private_path, public_path = generate_key_pair(out)
    console.print(f"signing key (collector only): {private_path}\npublic key (every ndt7 server): {public_path}",
                  highlight=False)


@app.command("test")
@refuses_bad_input
def test_command(
    server: str = typer.Option(None, "--server", help="ndt7 server base URL, ws://host:port or wss://host."),
    as_json: bool = typer.Option(False, "--json", help="Print the Measurement records as JSON."),
    full: bool = typer.Option(False, "--full", help="Always run the full 10 s per direction (no early stop)."),
    max_bytes: int = typer.Option(100_000_000, "--max-bytes", help="Byte cap per direction; 0 for none."),
    token: str = typer.Option(None, "--token", help="The probe's access token."),
    school_id: str = typer.Option("local", "--school-id", help="School id written in the records."),
    probe_id: str = typer.Option("cli", "--probe-id", help="Probe id written in the records."),
    ca_file: Path = typer.Option(None, "--ca-file", help="CA bundle to verify a wss:// server."),
    mlab: bool = typer.Option(False, "--mlab", help="Test against M-Lab's public platform instead (see below)."),
    client_name: str = typer.Option(None, "--client-name", help="Client name M-Lab asks for (with --mlab)."),
    locate_url: str = typer.Option(mlab_api.LOCATE_URL, "--locate-url", hidden=True),
) -> None:
    """Run a download then an upload test and print the results.

    --mlab tests against M-Lab's public servers, found through its Locate API with a client name. It
    is off by default: M-Lab publishes every test with the client's IP address as open data, so a
    school's address becomes public; MektepNet tests against the ministry's own servers.

    Example: mektepnet ndt7 test --server ws://127.0.0.1:8080
    """
    if mlab == (server is not None):
        raise CoreError.one("command line", "--server", server, "give either --server URL or --mlab, not both")
    if server is not None and not server.startswith(("ws://", "wss://")):
        raise CoreError.one("command line", "--server", server, "must start with ws:// or wss://")
    if mlab and not client_name:
        raise CoreError.one("command line", "--client-name", None, "M-Lab asks every client to name itself")
    if mlab and not as_json:
        console.print(f"[yellow]{mlab_api.PRIVACY_NOTICE}[/yellow]")
    options = ClientOptions(adaptive=not full, max_bytes=max_bytes or None, token=token, ca_file=ca_file)

    def subtests(on_progress):
        if mlab:
            return mlab_api.locate_and_test(client_name, __version__, options, locate_url, on_progress)
        return run_test(server, options, on_progress)

    try:
        results = asyncio.run(_with_progress(subtests, quiet=as_json))
    except Ndt7Error as exc:
        raise CoreError.one("ndt7", "--server", server or locate_url, str(exc)) from None
    context = ProbeContext(school_id, probe_id)
    records = [to_measurement(r, context) for r in results]
    if as_json:
        print(json.dumps([record.model_dump(mode="json") for record in records], indent=2))
        return
    console.print(_table(results))


async def _with_progress(subtests, quiet: bool) -> list[SubtestResult]:
    """Run the subtests with a live bar per direction: elapsed of 10 s and the current rate."""
    progress = Progress(TextColumn("{task.description:>8}"), BarColumn(), TextColumn("{task.fields[rate]:>14}"),
                        TimeElapsedColumn(), console=console.real(), transient=True, disable=quiet)
    tasks = {}

    def update(test: str, elapsed: float, bps: float) -> None:
        if test not in tasks:
            tasks[test] = progress.add_task(test, total=spec.DEFAULT_RUNTIME_SECONDS, rate="")
        progress.update(tasks[test], completed=elapsed, rate=format_bit_rate(bps))

    with progress:
        return await subtests(update)


def _table(results: list[SubtestResult]) -> Table:
    table = Table(title=f"ndt7 test against {results[0].server}")
    for column in ("", "throughput", "idle RTT", "RTT under load", "retransmitted", "bytes used", "stopped"):
        table.add_column(column, justify="right" if column else "left")
    for r in results:
        table.add_row(
            r.test, format_bit_rate(r.throughput_bps),
            format_duration(r.min_rtt_seconds) if r.min_rtt_seconds is not None else "-",
            format_duration(r.loaded_rtt_seconds) if r.loaded_rtt_seconds is not None else "-",
            f"{r.retransmission_ratio:.2%}" if r.retransmission_ratio is not None else "-",
            f"{r.wire_bytes / 1e6:,.1f} MB",
            f"{r.stop_reason} after {r.elapsed_seconds:.1f} s",
        )
    return table
