"""The push path against a local HTTP server that records the calls and answers as Grafana's API documents."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.norms import load_policy
from dashboards import DASHBOARDS
from dashboards.errors import DashboardsError
from dashboards.push import client, push


class FakeGrafana(ThreadingHTTPServer):
    """Keeps folders, data sources and dashboards by uid, as Grafana does, and records every call."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.calls: list[tuple[str, str, dict | None, str]] = []
        self.folders: dict[str, dict] = {}
        self.datasources: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}


class Handler(BaseHTTPRequestHandler):
    server: FakeGrafana

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.calls.append((self.command, self.path, body, self.headers.get("Authorization", "")))
        return body

    def do_GET(self) -> None:
        self._record()
        kind, _, uid = self.path.removeprefix("/api/").rpartition("/")
        store = {"folders": self.server.folders, "datasources/uid": self.server.datasources}.get(kind)
        if store is None or uid not in store:
            return self._answer(404, {"message": "not found"})
        self._answer(200, store[uid])

    def do_POST(self) -> None:
        body = self._record()
        if self.path == "/api/folders":
            if body["uid"] in self.server.folders:
                return self._answer(409, {"message": "a folder with the same uid already exists"})
            self.server.folders[body["uid"]] = body
            return self._answer(200, {"uid": body["uid"], "title": body["title"]})
        if self.path == "/api/datasources":
            self.server.datasources[body["uid"]] = body
            return self._answer(200, {"message": "Datasource added", "datasource": body})
        if self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            if uid in self.server.dashboards and not body.get("overwrite"):
                return self._answer(412, {"status": "version-mismatch"})
            if body.get("folderUid") not in self.server.folders:
                return self._answer(400, {"message": "folder not found"})
            self.server.dashboards[uid] = body
            return self._answer(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": 1})
        self._answer(404, {"message": "not found"})

    def do_PUT(self) -> None:
        body = self._record()
        uid = self.path.removeprefix("/api/datasources/uid/")
        if uid not in self.server.datasources:
            return self._answer(404, {"message": "not found"})
        self.server.datasources[uid] = body
        self._answer(200, {"message": "Datasource updated"})


@pytest.fixture
def grafana():
    server = FakeGrafana()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_push_creates_once_then_updates_in_place(grafana):
    url = f"http://127.0.0.1:{grafana.server_address[1]}"
    policy = load_policy("ministry")
    first = push(client(url, "glsa_test"), policy, postgres_password="secret")
    first_calls = list(grafana.calls)
    grafana.calls.clear()
    second = push(client(url, "glsa_test"), policy)
    assert first.folder_created and not second.folder_created
    assert set(first.datasources.values()) == {"created"} and set(second.datasources.values()) == {"updated"}
    assert set(first.dashboards) == set(second.dashboards) == set(DASHBOARDS)
    methods = [(method, path) for method, path, _, _ in first_calls]
    assert methods[:2] == [("GET", "/api/folders/mektepnet"), ("POST", "/api/folders")]
    assert [(m, p) for m, p, _, _ in grafana.calls if m != "GET"] == [
        ("PUT", "/api/datasources/uid/mektepnet-prometheus"), ("PUT", "/api/datasources/uid/mektepnet-postgres"),
        *[("POST", "/api/dashboards/db")] * len(DASHBOARDS)]
    assert ("POST", "/api/folders") not in [(m, p) for m, p, _, _ in grafana.calls]
    assert all(auth == "Bearer glsa_test" for *_, auth in first_calls + grafana.calls)
    saves = [body for method, path, body, _ in first_calls if path == "/api/dashboards/db"]
    assert all(body["overwrite"] is True and body["folderUid"] == "mektepnet" for body in saves)
    assert [body["dashboard"]["uid"] for body in saves] == list(DASHBOARDS)
    assert grafana.folders["mektepnet"] == {"title": "MektepNet", "uid": "mektepnet"}
    created = {body["uid"]: body for method, path, body, _ in first_calls if path == "/api/datasources"}
    assert created["mektepnet-postgres"]["secureJsonData"] == {"password": "secret"}
    assert created["mektepnet-prometheus"]["type"] == "prometheus"
    updates = [body for method, _, body, _ in grafana.calls if method == "PUT"]
    assert all("secureJsonData" not in body for body in updates)        # no password given: Grafana keeps its own
    assert len(grafana.dashboards) == len(DASHBOARDS)


def test_a_bad_url_or_an_empty_token_is_a_one_line_error():
    with pytest.raises(DashboardsError, match="--grafana-url='ftp://x'"):
        client("ftp://x", "t")
    with pytest.raises(DashboardsError, match="--token"):
        client("http://127.0.0.1:1", "")
