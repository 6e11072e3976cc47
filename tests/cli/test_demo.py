"""`mektepnet demo` end to end at a small scale: every artifact checked against its source, and nothing
left running afterwards, nor after Ctrl-C in the middle of a stage."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from collectors.demo.children import MARKER
from collectors.demo.index import headline
from collectors.store import Store
from core.measurement import Kind
from core.registry import load_registry
from core.school_calendar import SchoolCalendar
from core.verdict import Period
from tests.helpers.cli import ROOT
from tests.helpers.tools import require_tool


def start_demo(out: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", "demo", "--out", str(out), "--schools", "200", "--days", "2",
                             *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})


def left_behind(out: Path) -> list[str]:
    """Processes whose environment names this demo's output folder."""
    wanted = f"{MARKER}={out.resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def listening_ports(out: Path) -> list[str]:
    services = json.loads((out / "services.json").read_text()) if (out / "services.json").exists() else {}
    busy = []
    for name, url in services.items():
        parts = urlsplit(url)
        with socket.socket() as sock:
            if sock.connect_ex((parts.hostname, parts.port)) == 0:
                busy.append(f"{name} {url}")
    return busy


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [value for name, value in attrs if name in ("href", "src") and value]


@pytest.mark.slow
def test_the_demo_writes_every_artifact_from_real_measurements(tmp_path):
    out = tmp_path / "demo"
    demo = start_demo(out, "--lang", "kk")
    stdout, stderr = demo.communicate(timeout=600)
    assert demo.returncode == 0, stderr[-3000:]
    assert left_behind(out) == [] and listening_ports(out) == []
    stages = [line for line in stdout.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in stages] == [f"[{n}/12" for n in range(1, 13)]
    outcome = json.loads((out / "demo.json").read_text())
    registry = load_registry(out / "registry.csv")
    calendar = SchoolCalendar.load()

    # the live probes' results arrived through the API, are exported, and count in the verdicts
    store = Store(str(out / "collector.sqlite3"))
    try:
        now = datetime.now(UTC)
        assert 3 <= len(outcome["live"]) <= 5
        for probe in outcome["live"]:
            school = registry[probe["school_id"]]
            stored = [m for m in store.trusted_between((now - timedelta(hours=2)).timestamp(), now.timestamp() + 1,
                                                       school.school_id, (Kind.LATENCY.value, Kind.HTTP.value,
                                                                          Kind.DOWNLOAD.value))
                      if m.probe_id == probe["probe_id"]]
            assert {m.kind.value for m in stored} >= {"latency", "http"}
            assert probe["series_in_metrics"] > 0 and probe["clock_offset_seconds"] is not None
            in_hours = [m for m in stored if m.kind is Kind.LATENCY and m.error is None
                        and calendar.in_school_hours(school, m.start)]
            assert probe["counted"]["rtt"] == len(in_hours)
            assert (len(in_hours) > 0) == probe["in_school_hours"] or probe["in_school_hours"]
        # the report's headline numbers are the store's
        period = Period(datetime.fromisoformat(outcome["history_first"]).date(), now.astimezone().date())
        daily = store.daily_figures(period, ["download"])
    finally:
        store.close()
    workbook = next((out / "report").glob("inequality-*-kk.xlsx"))
    figures = headline(workbook)
    assert figures.schools == len(registry)
    succeeded = daily[daily["median"].notna()]                # a day with a successful download result
    connected = {sid for sid in succeeded["school_id"] if registry[sid].contracted_bps > 0}   # unconnected: no contract
    assert figures.schools_measured == len(connected) > 0
    assert figures.meeting + figures.below + figures.no_data == len(registry)
    for suffix in (".html", ".pdf"):
        assert workbook.with_suffix(suffix).stat().st_size > 10_000

    # the dashboards' queries returned data from the demo's Prometheus (where it is installed)
    if (out / "prometheus" / "checks.json").exists():
        checks = json.loads((out / "prometheus" / "checks.json").read_text())
        judged = any(probe["verdict"] != "no data" for probe in outcome["live"])
        silent = [c["panel"] for c in checks if c["source"] in ("collector", "loadtest") and c["series"] == 0]
        assert silent == ([] if judged else ["Verdict"])
        assert sum(c["source"] == "loadtest" for c in checks) >= 10
    # the load test and the readiness stage
    summary = json.loads((out / "loadtest" / "summary.json").read_text())
    assert summary["shape"] == "first-bell" and summary["requests"] > 0 and summary["failures"] == 0
    readiness = json.loads((out / "readiness" / "readiness.json").read_text())
    assert outcome["readiness"].startswith("reduced") and readiness["platform"] == "api"
    assert readiness["verdict"] in ("knee", "not-bracketed", "above-cap", "generator-bound") and readiness["steps"]

    # index.html opens without console errors, shows the headline, and every link resolves
    index = out / "index.html"
    page = index.read_text()
    assert f"{figures.schools:,}" in page and f"{figures.schools_measured:,}" in page
    links = Links()
    links.feed(page)
    assert len(links.hrefs) > 20
    for href in links.hrefs:
        assert not urlsplit(href).scheme and (out / unquote(href)).is_file(), href
    chromium = require_tool("chromium")
    result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
                             "--v=0", f"--screenshot={tmp_path / 'index.png'}", index.as_uri()],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line] == []


@pytest.mark.parametrize("stage", ["[3/12]", "[5/12]"])
def test_ctrl_c_in_the_middle_of_a_stage_leaves_nothing_running(tmp_path, stage):
    out = tmp_path / "demo"
    demo = start_demo(out)
    seen = []
    for line in demo.stdout:
        seen.append(line)
        if line.startswith(stage):
            break
    time.sleep(2)                                   # inside the stage: history being written, probes measuring
    demo.send_signal(signal.SIGINT)
    stdout, stderr = demo.communicate(timeout=120)
    assert demo.returncode == 130, "".join(seen) + stdout + stderr[-2000:]
    assert "every process of the demo is stopped" in stdout
    assert left_behind(out) == []
    assert listening_ports(out) == []
    assert (out / "services.json").exists()
