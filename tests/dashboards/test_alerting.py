"""Alerts end to end: the exported rules in a real Prometheus fire for schools below their norm, a real Alertmanager
with the shipped routing groups them, and a webhook receives one notification per region listing its schools."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from core.metrics import escape_label, exposition_header
from core.norms import load_policy
from core.synthetic import generate_registry
from dashboards.alertmanager import Grouping, alertmanager_config
from dashboards.provisioning import Targets, export
from dashboards.rules import AlertSettings
from tests.helpers.alertmanager import alertmanager
from tests.helpers.cli import ROOT
from tests.helpers.prometheus import prometheus_with_config

ALERT = "SchoolBelowNormAllDay"
GROUP_INTERVAL_SECONDS = 3
GROUPING = Grouping(group_wait="2s", group_interval=f"{GROUP_INTERVAL_SECONDS}s", repeat_interval="4h")


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]):
    """A loopback HTTP server on a free port in a thread; yields its host:port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def exposition(schools, download_bytes_per_second: dict[str, float]) -> str:
    """What the collector's exporter shows for these schools: info, students, in session, latest download."""
    lines = [exposition_header("mektepnet_school_info")]
    for school in schools:
        labels = ",".join(f'{name}="{escape_label(str(value))}"' for name, value in (
            ("school_id", school.school_id), ("name", school.name), ("region", school.region),
            ("district", school.district), ("locality", school.locality.value), ("category", school.category.value),
            ("isp", school.isp), ("latitude", school.latitude), ("longitude", school.longitude)))
        lines.append(f"mektepnet_school_info{{{labels}}} 1\n")
    for name, value in (("mektepnet_school_students", lambda s: s.students),
                        ("mektepnet_school_busiest_shift_students", lambda s: s.busiest_shift_students),
                        ("mektepnet_school_in_session", lambda s: 1),
                        ("mektepnet_school_download_bytes_per_second",
                         lambda s: download_bytes_per_second[s.school_id])):
        lines.append(exposition_header(name))
        lines += [f'{name}{{school_id="{school.school_id}"}} {value(school)!r}\n' for school in schools]
    return "".join(lines)


def wait_until(condition, seconds: float, failure) -> None:
    """Poll `condition` every 0.2 s; fail with `failure()` (a message) if it is not true within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure()
        time.sleep(0.2)


def test_the_shipped_alertmanager_yml_is_the_generated_routing():
    shipped = yaml.safe_load((ROOT / "deploy" / "alertmanager.yml").read_text())
    assert shipped == alertmanager_config()


def test_one_notification_per_region_lists_that_regions_schools(tmp_path: Path):
    policy = load_policy("ministry")
    registry = list(generate_registry(300, seed=21))
    by_region: dict[str, list] = {}
    for school in registry:
        by_region.setdefault(school.region, []).append(school)
    first, second, calm = sorted(by_region, key=lambda region: -len(by_region[region]))[:3]
    below = by_region[first][:4] + by_region[second][:3]
    meeting = by_region[calm][:2]
    speeds = {school.school_id: 10_000.0 for school in below}              # 80 kbit/s: below every norm
    speeds |= {school.school_id: 1e9 for school in meeting}               # 8 Gbit/s: above every norm
    page = exposition(below + meeting, speeds).encode()

    class Exporter(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    received, lock = [], threading.Lock()

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                received.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    with http_server(Exporter) as exporter, http_server(Webhook) as webhook, alertmanager(
            tmp_path / "alertmanager", alertmanager_config(f"http://{webhook}/hooks", GROUPING)) as manager:
        targets = Targets(collectors=(exporter,), collector_scheme="http", ndt7_servers=(), loadtest_masters=(),
                          alertmanagers=(manager.address,), scrape_interval="1s",
                          collector_scrape_timeout="1s")
        export(tmp_path / "export", policy, targets, AlertSettings(evaluation_interval="1s"))
        config = tmp_path / "export" / "prometheus" / "prometheus.yml"
        with prometheus_with_config(config, tmp_path) as server:
            def regions_notified() -> set[str]:
                with lock:
                    return {body["groupLabels"].get("region") for _, body in received}

            wait_until(lambda: {first, second} <= regions_notified(), 50, lambda: (
                f"no notification for both {first} and {second} within 50 s; webhook got {received}; "
                f"Prometheus alerts {server.query('ALERTS')}; Alertmanager holds {manager.alerts()}"))
            # Two more group intervals: a group split in parts would have sent its second part by now.
            time.sleep(2 * GROUP_INTERVAL_SECONDS + 1)
            assert server.query(f'ALERTS{{alertname="{ALERT}", region="{calm}"}}') == []
    with lock:
        notifications = list(received)
    assert Counter(body["groupLabels"]["region"] for _, body in notifications) == {first: 1, second: 1}
    for path, body in notifications:
        region = body["groupLabels"]["region"]
        assert path == f"/hooks/region-{region}" and body["receiver"] == f"region-{region}"
        assert body["status"] == "firing" and body["groupLabels"]["alertname"] == ALERT
        assert sorted(alert["labels"]["school_id"] for alert in body["alerts"]) == sorted(
            school.school_id for school in below if school.region == region)
        assert all(alert["labels"]["severity"] == "warning" for alert in body["alerts"])
