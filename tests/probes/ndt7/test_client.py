"""The ndt7 client against our server on loopback: results, byte cap, records, TLS, the CLI."""

import asyncio
import json

import pytest

from core.measurement import Kind, Measurement
from probes.ndt7.client import ClientOptions, Ndt7Error, run_subtest, run_test
from probes.context import ProbeContext
from probes.ndt7.records import to_measurement
from probes.ndt7.server import ServerConfig
from probes.ndt7.tokens import TokenSigner, TokenVerifier
from tests.helpers.cli import run_cli
from tests.helpers.ndt7 import server_process, server_thread
from tests.helpers.ports import free_port
from tests.helpers.tlsca import TestCA


def test_a_test_downloads_then_uploads_and_stops_early_on_a_stable_rate():
    with server_thread(ServerConfig()) as ndt7:
        download, upload = asyncio.run(run_test(ndt7.url, ClientOptions(max_bytes=None)))
    for result in (download, upload):
        assert result.throughput_bps > 200e6                  # loopback
        assert result.stopped_early and result.stop_reason == "stable"
        assert result.min_rtt_seconds is not None and result.min_rtt_seconds < 0.01
        assert result.server == ndt7.url
    assert (download.test, upload.test) == ("download", "upload")
    assert download.uuid and download.loaded_rtt_seconds is not None


def test_the_byte_cap_is_never_exceeded():
    with server_thread(ServerConfig()) as ndt7:
        results = asyncio.run(run_test(ndt7.url, ClientOptions(adaptive=False, max_bytes=3_000_000)))
    for result in results:
        assert result.app_bytes == 3_000_000
        assert result.stop_reason == "byte cap" and result.stopped_early
        assert result.wire_bytes <= 3_000_000 * 1.01


def test_results_become_core_measurements():
    with server_thread(ServerConfig()) as ndt7:
        results = asyncio.run(run_test(ndt7.url, ClientOptions(max_bytes=5_000_000)))
    records = [to_measurement(r, ProbeContext("KZ-002", "probe-1")) for r in results]
    assert [r.kind for r in records] == [Kind.DOWNLOAD, Kind.UPLOAD]
    again = [Measurement.model_validate_json(r.model_dump_json()) for r in records]
    assert again == records
    assert records[0].values["throughput_bps"] == results[0].throughput_bps
    assert records[0].target == ndt7.url and records[0].method == "ndt7"
    assert records[0].attributes["ndt7_uuid"] == results[0].uuid


def test_tls_works_with_the_right_ca_and_fails_without(tmp_path):
    ca = TestCA.create(tmp_path)
    cert, key = ca.issue(tmp_path, "127.0.0.1")
    with server_thread(ServerConfig(tls_cert=cert, tls_key=key)) as ndt7:
        assert ndt7.url.startswith("wss://")
        result = asyncio.run(run_subtest(ndt7.url, "download", ClientOptions(max_bytes=2_000_000, ca_file=ca.cert_file)))
        assert result.app_bytes == 2_000_000
        with pytest.raises(Ndt7Error, match="CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(run_subtest(ndt7.url, "download", ClientOptions(max_bytes=2_000_000)))


def test_the_commands_test_against_the_server_and_print_for_people_or_json():
    with server_process() as ndt7:
        shown = run_cli("ndt7", "test", "--server", ndt7.url, "--max-bytes", 20_000_000)
        assert shown.returncode == 0, shown.stderr
        assert "download" in shown.stdout and "upload" in shown.stdout and "bit/s" in shown.stdout
        as_json = run_cli("ndt7", "test", "--server", ndt7.url, "--json", "--max-bytes", 5_000_000, "--school-id", "KZ-9")
        assert as_json.returncode == 0, as_json.stderr
        records = [Measurement.model_validate(r) for r in json.loads(as_json.stdout)]
        assert [r.kind.value for r in records] == ["download", "upload"]
        assert {r.school_id for r in records} == {"KZ-9"} and records[0].clock_offset_seconds is None


@pytest.mark.parametrize("args, message", [
    (["test", "--server", "http://127.0.0.1:1"], "must start with ws:// or wss://"),
    (["test", "--server", "ws://127.0.0.1:{port}"], "ConnectionRefusedError"),
    (["serve", "--tls-cert", "absent.pem", "--tls-key", "absent.pem"], "no such file"),
    (["serve", "--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
    (["serve", "--token-public-key", "key.pem"], "--token-public-key and --token-audience go together"),
    (["serve", "--token-public-key", "absent.pem", "--token-audience", "a"], "not a readable PEM public key"),
])
def test_bad_command_lines_exit_2_with_a_clear_message(args, message):
    args = [a.replace("{port}", str(free_port())) for a in args]
    result = run_cli("ndt7", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_keygen_writes_a_usable_pair_once_and_never_overwrites_it(tmp_path):
    made = run_cli("ndt7", "keygen", "--out", tmp_path / "keys")
    assert made.returncode == 0, made.stderr
    private, public = tmp_path / "keys" / "ndt7-signing-key.pem", tmp_path / "keys" / "ndt7-public-key.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    token, _ = TokenSigner.from_file(private).issue("p-1", "ndt7-a", "download")
    assert TokenVerifier.from_file(public, "ndt7-a").verify(token, "download").probe_id == "p-1"
    before = private.read_bytes()
    again = run_cli("ndt7", "keygen", "--out", tmp_path / "keys")
    assert again.returncode == 2 and "exists already" in again.stderr and private.read_bytes() == before
