"""The HTTP prober against real HTTP and HTTPS servers with a test CA (and an 'intercepting' one)."""

from __future__ import annotations

import asyncio
import time

from probes.config import HttpModule, Module
from probes.context import ProbeContext
from probes.http import probe_http
from tests.helpers.tlsca import TestCA
from tests.helpers.webserver import BODY_BYTES, web_server

CONTEXT = ProbeContext("KZ-001", "p-1")


def get(url: str, ca_file=None, timeout: float = 5.0):
    module = Module(http=HttpModule(ca_file=ca_file, timeout_seconds=timeout))
    [record] = asyncio.run(probe_http(url, module, CONTEXT))
    return record


def test_https_phases_status_bytes_and_issuer(tmp_path):
    ca = TestCA.create(tmp_path, "Ministry Test CA")
    cert, key = ca.issue(tmp_path, "localhost")
    with web_server(cert, key) as port:
        began = time.monotonic()
        record = get(f"https://localhost:{port}/", ca.cert_file)
        call_seconds = time.monotonic() - began
    values = record.values
    assert record.error is None and values["status_code"] == 200 and values["body_bytes"] == BODY_BYTES
    phases = [values[name] for name in ("dns_seconds", "connect_seconds", "tls_seconds", "first_byte_seconds",
                                        "total_seconds")]
    assert phases == sorted(phases) and phases[-1] <= call_seconds          # the phases lie inside the call
    assert record.attributes["tls_issuer"] == "CN=Ministry Test CA"
    assert record.attributes["address"] == "127.0.0.1"


def test_an_intercepting_proxy_is_named_even_when_verification_fails(tmp_path):
    trusted = TestCA.create(tmp_path, "Ministry Test CA")
    proxy = TestCA.create(tmp_path, "Filtering Proxy CA")
    cert, key = proxy.issue(tmp_path, "localhost")
    with web_server(cert, key) as port:
        record = get(f"https://localhost:{port}/", trusted.cert_file)
    assert record.error.startswith("tls: ") and "certificate" in record.error
    assert record.attributes["tls_issuer"] == "CN=Filtering Proxy CA"
    assert "connect_seconds" in record.values and "status_code" not in record.values


def test_server_errors_and_slow_first_bytes_over_plain_http():
    with web_server() as port:
        broken = get(f"http://127.0.0.1:{port}/broken")
        slow = get(f"http://127.0.0.1:{port}/slow")
    assert broken.error == "HTTP 500" and broken.values["status_code"] == 500
    assert slow.error is None and slow.values["first_byte_seconds"] >= 0.2
    assert "tls_seconds" not in slow.values and "tls_issuer" not in slow.attributes


def test_timeouts_refusals_and_bad_urls_are_records_with_errors():
    with web_server() as port:
        late = get(f"http://127.0.0.1:{port}/slow", timeout=0.1)
    refused = get(f"http://127.0.0.1:{port}/")
    assert late.error == "no complete answer within 0.1 s"
    assert "ConnectionRefused" in refused.error
    assert get("ftp://kundelik.kz/").error == "url='ftp://kundelik.kz/': not an http(s) URL"


def test_the_client_reads_chunked_bodies_and_refuses_truncated_ones():
    import socket
    import threading

    from probes.http1 import request

    answers = {
        "/whole": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        "/cut": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
    }
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve():
        for _ in answers:
            connection, _ = server.accept()
            path = connection.recv(4096).split()[1].decode()
            connection.sendall(answers[path])
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    port = server.getsockname()[1]
    whole = asyncio.run(request("GET", f"http://127.0.0.1:{port}/whole"))
    assert whole.body == b"hello world" and whole.body_bytes == 11
    for path in ("/cut", "/short"):
        try:
            asyncio.run(request("GET", f"http://127.0.0.1:{port}{path}"))
        except EOFError as exc:
            assert "ended" in str(exc)
        else:
            raise AssertionError(f"{path}: a truncated body was taken as whole")
    server.close()
