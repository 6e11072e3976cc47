"""The collector behind a real nginx running deploy/nginx/mektepnet-collector.conf: TLS, slow clients, size."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
from pathlib import Path

import httpx
import pytest

from collectors.api import IngestSettings, MAX_BODY_BYTES
from collectors.settings import CollectorSettings
from collectors.store import Store
from tests.helpers.collector import collector_thread, enrolled, upload
from tests.helpers.nginx import Nginx, nginx_in_front
from tests.helpers.ports import free_port
from tests.helpers.records import latency_records

ATTACKER = "127.0.0.66"       # loopback has all of 127/8: the attacker's own address, as nginx sees it


def stored(db: Path, school_id: str | None = None) -> list[str]:
    store = Store(db)
    try:
        return store.measurement_ids(school_id)
    finally:
        store.close()


def tls_socket(nginx: Nginx, source: str = "127.0.0.1") -> ssl.SSLSocket:
    """A TLS connection to nginx from `source`, verified against the test CA."""
    raw = socket.create_connection(("127.0.0.1", nginx.port), timeout=10, source_address=(source, 0))
    return ssl.create_default_context(cafile=nginx.ca_file).wrap_socket(raw, server_hostname="127.0.0.1")


def answer_of(sock: ssl.SSLSocket) -> tuple[int | None, bytes]:
    """(status, head and body) of nginx's answer, or of what it sent before closing (status None if nothing)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: (\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
    except OSError:
        pass
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.1 ") else None
    return status, received


def test_a_probe_enrols_and_uploads_through_nginx_over_tls(front, tmp_path):
    nginx = front.nginx
    credentials = enrolled(nginx.url, front.db, "KZ-001", tmp_path / "probe", nginx.ca_file)
    records = latency_records("KZ-001", credentials.probe_id, 30)
    upload(nginx.url, credentials, records, tmp_path / "outbox.sqlite3", nginx.ca_file)
    assert sorted(stored(front.db)) == sorted(str(r.measurement_id) for r in records)
    assert set(nginx.access_statuses()) == {201, 200}
    with pytest.raises(httpx.ConnectError):         # and nobody without the ministry's CA is fooled
        httpx.get(f"{nginx.url}/openapi.json")


def test_a_body_one_byte_over_the_collectors_limit_gets_413_from_nginx_and_one_at_it_passes(front):
    nginx = front.nginx
    answers = {}
    for size in (MAX_BODY_BYTES + 1, MAX_BODY_BYTES):
        with tls_socket(nginx) as sock:
            sock.sendall(f"POST /api/v1/measurements HTTP/1.1\r\nHost: collector.edu.kz\r\nAuthorization: Bearer x\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
                         .encode())
            if size <= MAX_BODY_BYTES:
                sock.sendall(b" " * size)
            answers[size] = answer_of(sock)
    status, text = answers[MAX_BODY_BYTES + 1]
    assert status == 413 and b"nginx" in text                        # nginx's own page: the collector saw nothing
    status, text = answers[MAX_BODY_BYTES]
    assert status == 401 and b'"detail"' in text                     # reached the collector, which judged it
    assert stored(front.db) == []


def test_an_enrolment_over_16_kib_gets_413_from_nginx(front):
    with tls_socket(front.nginx) as sock:
        sock.sendall(b"POST /api/v1/enroll HTTP/1.1\r\nHost: collector.edu.kz\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 16385\r\nConnection: close\r\n\r\n")
        status, text = answer_of(sock)
    assert status == 413 and b"nginx" in text


def test_a_chunked_body_over_the_limit_gets_413_from_nginx(front):
    with tls_socket(front.nginx) as sock:
        sock.sendall(b"POST /api/v1/measurements HTTP/1.1\r\nHost: collector.edu.kz\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunk = b"[" * 1_000_000
        try:
            for _ in range(5):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass                                                    # nginx may stop reading once it has refused
        status, text = answer_of(sock)
    assert status == 413 and b"nginx" in text


class SlowClient(threading.Thread):
    """A hostile client from ATTACKER: 'silent' sends nothing, 'header' sends its request head a byte at a
    time, 'body' sends a whole head then its body a byte a second until `quiet` is set, then nothing."""

    def __init__(self, nginx: Nginx, kind: str, token: str, quiet: threading.Event):
        super().__init__(daemon=True)
        self.nginx, self.kind, self.token, self.quiet = nginx, kind, token, quiet
        self.body_bytes_sent, self.status, self.closed = 0, None, False

    def run(self) -> None:
        head = (f"POST /api/v1/measurements HTTP/1.1\r\nHost: collector.edu.kz\r\nAuthorization: Bearer {self.token}"
                f"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n").encode()
        raw = socket.create_connection(("127.0.0.1", self.nginx.port), timeout=30, source_address=(ATTACKER, 0))
        if self.kind == "silent":
            self.closed = raw.recv(1) == b""              # nginx closes it without a TLS handshake
            raw.close()
            return
        context = ssl.create_default_context(cafile=self.nginx.ca_file)
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            if self.kind == "body":
                sock.sendall(head)
            payload = head if self.kind == "header" else b"{" * 100000
            try:
                for byte in payload:
                    if not self.quiet.is_set() or self.kind == "header":
                        sock.sendall(bytes([byte]))
                        self.body_bytes_sent += self.kind == "body"
                    sock.settimeout(0.25 if self.kind == "header" else 1.0)
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        continue
                    self.status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
                    break
            except OSError:
                pass
            self.closed = True


def test_slow_loris_clients_are_cut_off_by_nginx_while_other_probes_upload(tmp_path):
    db = tmp_path / "collector.sqlite3"
    # Fewer collector slots than slow uploads: were nginx to pass slow bodies on, the probes would be shed.
    config = CollectorSettings(db=db, ingest=IngestSettings(max_in_flight=2))
    with collector_thread(config) as url, nginx_in_front(url, tmp_path / "nginx", client_header_timeout="2s",
                                                          client_body_timeout="2s") as nginx:
        attacker = enrolled(url, db, "KZ-003", tmp_path / "attacker")
        probes = [enrolled(url, db, school, tmp_path / school) for school in ("KZ-001", "KZ-002", "KZ-001")]
        quiet = threading.Event()
        clients = [SlowClient(nginx, kind, attacker.token, quiet) for kind in ["silent"] * 2 + ["header", "body"] * 4]
        for client in clients:
            client.start()
        bodies = [client for client in clients if client.kind == "body"]
        while min(client.body_bytes_sent for client in bodies) < 3:
            threading.Event().wait(0.1)
        sent = []
        for number, probe in enumerate(probes):
            records = latency_records(probe.school_id, probe.probe_id, 20)
            upload(nginx.url, probe, records, tmp_path / f"outbox-{number}.sqlite3", nginx.ca_file)
            sent += [str(record.measurement_id) for record in records]
        still_sending = [client.is_alive() for client in bodies]
        quiet.set()
        for client in clients:
            client.join(30)
        statuses, handshakes_cut = nginx.access_statuses(), nginx.timed_out_clients("SSL handshaking")
    assert all(still_sending)                       # the probes were served while every slow body was still coming
    assert sorted(stored(db)) == sorted(sent) and stored(db, "KZ-003") == []
    assert [(client.kind, client.closed, client.status) for client in clients] == \
        [(client.kind, True, None) for client in clients]
    assert min(client.body_bytes_sent for client in bodies) >= 3
    assert handshakes_cut == 2 and statuses.count(408) == 8          # nginx's log: each cut off for being slow
    assert statuses.count(200) == len(probes) and not [status for status in statuses if status >= 500]


def test_no_collector_answering_is_a_503_with_retry_after_and_the_probe_keeps_its_records(tmp_path):
    import asyncio

    from probes.clock import Clock
    from probes.config import UploadSettings
    from probes.identity import Credentials, tls_context
    from probes.outbox import Outbox
    from probes.uploader import Uploader

    with nginx_in_front(f"http://127.0.0.1:{free_port()}", tmp_path / "nginx") as nginx:
        credentials = Credentials(probe_id="p-kz-001-000001", school_id="KZ-001", token="t" * 43,
                                  expires_at="2099-01-01T00:00:00Z")
        answer = httpx.post(f"{nginx.url}/api/v1/measurements", content=b"{}", verify=nginx.verify())
        outbox = Outbox(tmp_path / "outbox.sqlite3")
        outbox.add(latency_records("KZ-001", credentials.probe_id, 3))
        uploader = Uploader(nginx.url, credentials, outbox, UploadSettings(), Clock(), tls_context(nginx.ca_file))
        delay = asyncio.run(uploader.upload_once())
    assert answer.status_code == 503 and answer.headers["retry-after"] == "30"
    assert "retry later" in json.loads(answer.text)["detail"]
    assert delay == 30 and outbox.depth() == (3, 0)


def test_metrics_are_served_to_the_monitoring_network_only(front):
    inside = httpx.get(f"{front.nginx.url}/metrics", verify=front.nginx.verify())
    with tls_socket(front.nginx, ATTACKER) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: collector.edu.kz\r\nConnection: close\r\n\r\n")
        outside, _ = answer_of(sock)
    assert inside.status_code == 200 and "mektepnet_ingest_records_total" in inside.text
    assert outside == 403
