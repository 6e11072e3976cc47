"""The running collector: its handle (URLs, stop), and admission against slow or silent clients, on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from collectors.admission import AdmissionSettings
from collectors.server import start, start_in_thread
from collectors.settings import CollectorSettings
from tests.helpers.collector import enrolled
from tests.helpers.records import as_json, latency_records

SLOW_UPLOADERS = 64


def _ingest_workers() -> list[int]:
    children = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(os.getpid())], capture_output=True,
                              text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in children if "multiprocessing.spawn" in line]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_handle_gives_the_bound_urls_and_stop_ends_the_server_and_every_ingest_worker(tmp_path):
    collector = start_in_thread(CollectorSettings(db=tmp_path / "c.sqlite3", port=0, ingest_workers=2))
    try:
        port = int(re.fullmatch(r"http://127\.0\.0\.1:(\d+)", collector.url).group(1))
        metrics = httpx.get(collector.metrics_url)
        workers = _ingest_workers()
    finally:
        collector.stop()
    collector.stop()                                         # a second stop changes nothing
    assert port != 0 and collector.metrics_url == f"{collector.url}/metrics"
    assert metrics.status_code == 200 and "mektepnet_ingest_records_total" in metrics.text
    assert len(workers) == 2 and not any(_alive(pid) for pid in workers)
    with pytest.raises(httpx.ConnectError):
        httpx.get(collector.metrics_url)


def test_the_handle_works_inside_a_running_event_loop(tmp_path):
    async def main() -> tuple[int, str]:
        collector = await start(CollectorSettings(db=tmp_path / "c.sqlite3", host="0.0.0.0", port=0,
                                                  ingest_workers=0))
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.get(collector.metrics_url)
        finally:
            await collector.stop()
        return answer.status_code, collector.url

    status, url = asyncio.run(main())
    assert status == 200 and url.startswith("http://127.0.0.1:")       # reachable, though bound to every address


def _batch(credentials) -> bytes:
    records = as_json(latency_records(credentials.school_id, credentials.probe_id, 2))
    return json.dumps({"schema_version": 1, "batch_id": str(uuid.uuid4()), "probe_id": credentials.probe_id,
                       "school_id": credentials.school_id, "sent_at": datetime.now(timezone.utc).isoformat(),
                       "measurements": records}).encode()


async def _slow_upload(host: str, port: int, token: str, answered: asyncio.Queue) -> int:
    """A batch announced as 100 kB whose body comes at one byte every 0.2 s; the status code it gets."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"POST /api/v1/measurements HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode())

    async def trickle() -> None:
        while True:
            await asyncio.sleep(0.2)
            writer.write(b" ")
            await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        status = int((await reader.readline()).split()[1])
    finally:
        trickling.cancel()
        writer.close()
    await answered.put(status)
    return status


def test_one_token_with_slow_uploads_cannot_hold_the_slots_of_other_schools(tmp_path):
    db = tmp_path / "c.sqlite3"
    admission = AdmissionSettings(body_timeout_seconds=3, max_in_flight_per_token=4)
    with start_in_thread(CollectorSettings(db=db, port=0, ingest_workers=0, admission=admission)) as collector:
        greedy = enrolled(collector.url, db, "KZ-001", tmp_path / "greedy")
        other = enrolled(collector.url, db, "KZ-002", tmp_path / "other")
        host, port = collector.url.removeprefix("http://").split(":")

        async def main() -> tuple[list[int], int]:
            answered: asyncio.Queue = asyncio.Queue()
            uploads = [asyncio.create_task(_slow_upload(host, int(port), greedy.token, answered))
                       for _ in range(SLOW_UPLOADERS)]
            for _ in range(SLOW_UPLOADERS - admission.max_in_flight_per_token):
                await answered.get()                         # the refused ones answer before any body is read
            async with httpx.AsyncClient() as client:
                accepted = await client.post(f"{collector.url}/api/v1/measurements", content=_batch(other),
                                             headers={"Authorization": f"Bearer {other.token}"})
            return await asyncio.gather(*uploads), accepted.status_code

        statuses, other_status = asyncio.run(asyncio.wait_for(main(), 300))    # only against a hang
    assert other_status == 200
    assert sorted(statuses) == [408] * admission.max_in_flight_per_token + [429] * (
        SLOW_UPLOADERS - admission.max_in_flight_per_token)


@pytest.mark.parametrize("parts", [(b"",), (b"POST /api/v1/measurements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",),
                                   (b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"GET /metr")],
                         ids=["nothing", "half-a-header", "half-a-header-after-an-answer"])
def test_a_connection_that_does_not_finish_its_request_head_is_closed(tmp_path, parts):
    admission = AdmissionSettings(header_timeout_seconds=1)
    with start_in_thread(CollectorSettings(db=tmp_path / "c.sqlite3", port=0, ingest_workers=0,
                                           admission=admission)) as collector:
        host, port = collector.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as connection:
            connection.settimeout(120)                       # only against a hang: the server closes long before
            received = b""
            for part in parts:
                connection.sendall(part)
                if part.endswith(b"\r\n\r\n"):               # a whole request: its answer comes first
                    received += connection.recv(65536)
            while chunk := connection.recv(65536):
                received += chunk
    answers = re.findall(rb"HTTP/1\.1 (\d+)", received)
    assert answers == ([b"200"] if len(parts) > 1 else [])
