"""Tokens, enrolment codes and SNMP secrets never reach a log or /metrics: the collector runs as a process
(its stderr captured) behind nginx (its logs read), polls SNMP devices that do not answer, and is sent
good and bad credentials, an aborted upload and a refused enrolment."""

from __future__ import annotations

import json
import socket
import time

import httpx
import yaml

from collectors import enrolment
from collectors.store import Store
from tests.helpers.collector import collector_process, enrolled, upload
from tests.helpers.nginx import nginx_in_front
from tests.helpers.ports import free_udp_port
from tests.helpers.records import latency_records

COMMUNITY = "community-Zq7v-secret"
AUTH_KEY, PRIV_KEY = "authkey-Hn3x-secret", "privkey-Wd8m-secret"


def snmp_targets(path, port: int):
    """Two devices on a loopback port where nothing answers, with secrets that must stay secret."""
    path.write_text(yaml.safe_dump({"defaults": {"port": port, "timeout_seconds": 0.2, "retries": 0}, "targets": [
        {"name": "cpe-v2c", "address": "127.0.0.1", "version": "v2c", "community": COMMUNITY},
        {"name": "agg-v3", "address": "127.0.0.1", "version": "v3", "user": "mektepnet", "auth_protocol": "SHA",
         "auth_key": AUTH_KEY, "priv_protocol": "AES", "priv_key": PRIV_KEY}]}), encoding="utf-8")
    return path


def aborted_upload(collector_url: str, token: str) -> None:
    """Half a body straight to the collector, then the connection is dropped."""
    host, port = collector_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST /api/v1/measurements HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"probe_id\": ".encode())


def test_tokens_codes_and_snmp_secrets_never_appear_in_logs_or_metrics(tmp_path):
    db = tmp_path / "collector.sqlite3"
    targets = snmp_targets(tmp_path / "snmp-targets.yaml", free_udp_port())
    process, collector_url = collector_process(db, "--snmp-targets", str(targets), "--snmp-interval", "5",
                                               "--ingest-workers", "0")
    secrets = [COMMUNITY, AUTH_KEY, PRIV_KEY]
    try:
        with nginx_in_front(collector_url, tmp_path / "nginx") as nginx:
            store = Store(db)
            try:
                unused_code = enrolment.issue_code(store, "KZ-002")
            finally:
                store.close()
            refused = httpx.post(f"{nginx.url}/api/v1/enroll", verify=nginx.verify(),
                                 json={"school_id": "KZ-002", "enrollment_code": unused_code[::-1]})
            echoed = httpx.post(f"{nginx.url}/api/v1/enroll", verify=nginx.verify(),
                                json={"school_id": "KZ-002", "enrollment_code": unused_code, "extra": 1})
            credentials = enrolled(nginx.url, db, "KZ-001", tmp_path / "probe", nginx.ca_file)
            upload(nginx.url, credentials, latency_records("KZ-001", credentials.probe_id, 5),
                   tmp_path / "outbox.sqlite3", nginx.ca_file)
            rotated = httpx.post(f"{nginx.url}/api/v1/probe/token", verify=nginx.verify(),
                                 headers={"Authorization": f"Bearer {credentials.token}"}).json()["token"]
            invented = "B" + rotated[1:]
            unknown = httpx.get(f"{nginx.url}/api/v1/probe/config", verify=nginx.verify(),
                                headers={"Authorization": f"Bearer {invented}"})
            aborted_upload(collector_url, rotated)
            secrets += [unused_code, credentials.token, rotated, invented]
            metrics = ""
            for _ in range(300):
                metrics = httpx.get(f"{collector_url}/metrics").text
                if "mektepnet_snmp_targets_unreachable 2" in metrics:
                    break
                time.sleep(0.1)
            nginx_logs = nginx.error_log() + (nginx.directory / "access.log").read_text()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert (refused.status_code, echoed.status_code, unknown.status_code) == (403, 422, 401)
    assert "mektepnet_snmp_targets_unreachable 2" in metrics and "SNMP: 2 of 2 devices did not answer" in stderr
    for secret in secrets:
        for where, text in (("stderr", stderr), ("/metrics", metrics), ("nginx", nginx_logs)):
            assert secret not in text, f"a secret is in {where}"
            assert secret not in json.dumps(text), f"a secret is in {where} (escaped)"
