"""The ndt7 server against the spec, field by field, and against clients that misbehave."""

import asyncio
import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from probes.ndt7 import spec
from probes.ndt7.client import ClientOptions, run_subtest
from probes.ndt7.server import ServerConfig
from tests.helpers.ndt7 import server_thread

SHORT = ServerConfig(runtime_seconds=2.0)


async def raw_download(url: str, **kwargs) -> tuple[str | None, list[int], list[dict], float]:
    """Receive a whole download as a plain WebSocket client: subprotocol, binary sizes, text messages, seconds."""
    sizes, texts = [], []
    async with connect(url + spec.DOWNLOAD_PATH, subprotocols=[spec.SUBPROTOCOL], max_size=spec.MAX_MESSAGE_SIZE,
                       compression=None, **kwargs) as ws:
        started = time.monotonic()
        async for message in ws:
            if isinstance(message, str):
                texts.append(json.loads(message))
            else:
                sizes.append(len(message))
        return ws.subprotocol, sizes, texts, time.monotonic() - started


def test_download_messages_follow_the_spec():
    with server_thread(SHORT) as ndt7:
        subprotocol, sizes, texts, seconds = asyncio.run(raw_download(ndt7.url))
    assert subprotocol == spec.SUBPROTOCOL
    assert sizes[0] == spec.MIN_MESSAGE_SIZE
    sent = 0
    for size, following in zip(sizes, sizes[1:]):
        sent += size
        assert following == spec.next_message_size(size, sent)
    assert seconds >= 1.9                                       # the server's runtime, 2 s
    assert texts, "the server sent no measurement"
    assert len(texts) <= 10 * seconds + 1                       # at most ~10 per second
    elapsed = [t["AppInfo"]["ElapsedTime"] for t in texts]
    assert elapsed == sorted(elapsed) and 1.5e6 <= elapsed[-1] <= (seconds + 0.5) * 1e6   # µs, within what the client saw
    assert {t["Origin"] for t in texts} == {"server"} and {t["Test"] for t in texts} == {"download"}
    assert len({t["ConnectionInfo"]["UUID"] for t in texts}) == 1
    last = texts[-1]
    assert last["AppInfo"]["NumBytes"] == sum(sizes)
    tcp = last["TCPInfo"]
    assert tcp["BytesAcked"] > 0 and tcp["MinRTT"] > 0 and tcp["ElapsedTime"] > 0
    assert tcp["BytesSent"] >= tcp["BytesAcked"] - 1


def test_upload_is_counted_and_measured_by_the_server():
    async def upload(url):
        received = []
        async with connect(url + spec.UPLOAD_PATH, subprotocols=[spec.SUBPROTOCOL], compression=None) as ws:
            for _ in range(200):
                await ws.send(b"\0" * 65536)
            await asyncio.sleep(1.2)        # measurement intervals are at most 1 s
            while True:
                try:
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), 0.1)))
                except TimeoutError:
                    break
        return received

    with server_thread(SHORT) as ndt7:
        texts = asyncio.run(upload(ndt7.url))
        time.sleep(0.2)
        assert ndt7.server.registry.get_sample_value("mektepnet_ndt7_bytes_total", {"direction": "upload"}) == 200 * 65536
    assert texts and {t["Origin"] for t in texts} == {"server"} and texts[-1]["Test"] == "upload"
    assert texts[-1]["TCPInfo"]["BytesReceived"] >= 200 * 65536


def http_status(url: str, path: str, headers: dict | None = None) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response.status, dict(response.getheaders())


UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


@pytest.mark.parametrize("path, headers, status", [
    ("/ndt/v7/elsewhere", UPGRADE, 404),
    (spec.DOWNLOAD_PATH, {}, 426),                                         # not an upgrade
    (spec.DOWNLOAD_PATH, {**UPGRADE, "Sec-WebSocket-Protocol": "chat"}, 400),
    (spec.DOWNLOAD_PATH, UPGRADE, 400),                                    # no subprotocol at all
    (spec.DOWNLOAD_PATH + "?a=1&a=2", {**UPGRADE, "Sec-WebSocket-Protocol": spec.SUBPROTOCOL}, 400),
    (spec.DOWNLOAD_PATH + "?x=" + "a" * 5000, {**UPGRADE, "Sec-WebSocket-Protocol": spec.SUBPROTOCOL}, 400),
])
def test_bad_requests_get_a_clear_http_answer_and_the_server_keeps_serving(path, headers, status):
    with server_thread(SHORT) as ndt7:
        assert http_status(ndt7.url, path, headers)[0] == status
        assert ndt7.server.registry.get_sample_value("mektepnet_ndt7_refusals_total", {"reason": "bad_request"}) == 1
        result = asyncio.run(run_subtest(ndt7.url, "download", ClientOptions(max_bytes=2_000_000)))
        assert result.app_bytes == 2_000_000


def test_beyond_the_concurrency_cap_the_server_answers_503_with_retry_after():
    async def scenario(url):
        async with connect(url + spec.DOWNLOAD_PATH, subprotocols=[spec.SUBPROTOCOL], compression=None):
            with pytest.raises(InvalidStatus) as busy:
                async with connect(url + spec.DOWNLOAD_PATH, subprotocols=[spec.SUBPROTOCOL]):
                    pass
            return busy.value.response

    with server_thread(ServerConfig(runtime_seconds=2.0, max_concurrent=1)) as ndt7:
        response = asyncio.run(scenario(ndt7.url))
        assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
        time.sleep(0.3)
        assert ndt7.server.active == 0                       # the slot is released when the test ends
        asyncio.run(run_subtest(ndt7.url, "download", ClientOptions(max_bytes=100_000)))


def raw_upgrade(url: str, path: str, receive_buffer: int | None = None) -> socket.socket:
    """A plain TCP socket that has completed a WebSocket upgrade, its 101 answer read."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=20)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    headers = {**UPGRADE, "Host": "x", "Sec-WebSocket-Protocol": spec.SUBPROTOCOL}
    sock.sendall((f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                  + "\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(1)
        assert chunk, "the server closed during the handshake"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def close_code_after(sock: socket.socket) -> int:
    """Read until the server's close frame and return its code."""
    data = b""
    while True:
        while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError("the connection closed without a close frame")
            data += chunk
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        if length == 126 or length == 127:
            raise AssertionError("unexpected data frame")
        if opcode == 0x8:
            return int.from_bytes(data[2:4], "big")
        data = data[2 + length:]


def test_malformed_and_oversized_messages_close_cleanly():
    async def send(url, message):
        async with connect(url + spec.UPLOAD_PATH, subprotocols=[spec.SUBPROTOCOL], compression=None) as ws:
            await ws.send(message)
            with pytest.raises(ConnectionClosed):
                for _ in range(100):
                    await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    with server_thread(SHORT) as ndt7:
        assert asyncio.run(send(ndt7.url, "{not json")) == 1007
        assert asyncio.run(send(ndt7.url, json.dumps({"Origin": "elsewhere"}))) == 1007
        oversized = raw_upgrade(ndt7.url, spec.UPLOAD_PATH)
        # A masked binary frame header announcing 16 MiB + 1 byte: refused before a byte of it is read.
        oversized.sendall(bytes([0x82, 0x80 | 127]) + (spec.MAX_MESSAGE_SIZE + 1).to_bytes(8, "big") + b"mask")
        assert close_code_after(oversized) == 1009
        oversized.close()
        result = asyncio.run(run_subtest(ndt7.url, "upload", ClientOptions(max_bytes=1_000_000)))
        assert result.app_bytes == 1_000_000
        assert ndt7.server.registry.get_sample_value("mektepnet_ndt7_tests_total",
                                                {"direction": "upload", "outcome": "error"}) == 3


def test_a_stalled_client_is_cut_off_and_others_are_served_meanwhile():
    with server_thread(ServerConfig(runtime_seconds=2.0, close_timeout_seconds=1.0)) as ndt7:
        stalled = raw_upgrade(ndt7.url, spec.DOWNLOAD_PATH, receive_buffer=4096)   # and never reads
        started = time.monotonic()
        result = asyncio.run(run_subtest(ndt7.url, "download", ClientOptions(max_bytes=5_000_000)))
        assert result.app_bytes == 5_000_000
        while ndt7.server.active and time.monotonic() - started < 25:
            time.sleep(0.2)
        assert ndt7.server.active == 0, "the stalled test was never ended"
        stalled.close()


def test_metrics_are_served_on_the_same_port():
    with server_thread(SHORT) as ndt7:
        asyncio.run(run_subtest(ndt7.url, "download", ClientOptions(max_bytes=1_000_000)))
        status, headers = http_status(ndt7.url, "/metrics")
        parts = urlsplit(ndt7.url)
        body = http.client.HTTPConnection(parts.hostname, parts.port)
        body.request("GET", "/metrics")
        text = body.getresponse().read().decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'mektepnet_ndt7_tests_total{direction="download",outcome="completed"} 1.0' in text
    assert "_created" not in text
