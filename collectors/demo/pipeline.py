"""`mektepnet demo`: the whole system on loopback, stage by stage, measured for real.

Stages: a synthetic registry; the collector; simulated history of the rest of the country through the
store's roll-up and judging path; the ndt7 server and the platform simulator; live probes; dashboards
and provisioning; Prometheus (where installed); a first-bell load test; a reduced readiness check; the
dashboards' queries; the deputies' report; index.html. Components that are processes of their own in
production (ndt7 server, platform simulator, Locust, Prometheus, report, dashboards) run as child
processes of `mektepnet`; everything is stopped in `finally`, on Ctrl-C too.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console

from collectors.demo import prometheus
from collectors.demo.children import Children, cli, free_port
from collectors.demo.index import IndexPage, headline, read_json, write_index
from collectors.demo.live import LivePlan, LiveProbe, pick_schools, run_live_probes, today_verdict
from collectors.demo.services import Services
from collectors.fleet_upload import into_store
from collectors.simulator import LEAN, FleetSimulator
from collectors.store import Store
from core.norms import load_policy
from core.registry import Registry
from core.school_calendar import SchoolCalendar
from core.synthetic import generate_registry

STAGES = 12
HISTORY_RAW_DAYS = 2                        # the history's last days stored raw; the days before as roll-ups only
READINESS_SLO = "p95<800ms,errors<1%"


@dataclass(frozen=True)
class DemoSettings:
    """The demo's size and output: schools in the registry, days of simulated history, report language."""

    out: Path
    schools: int = 1500
    days: int = 7
    lang: str = "ru"
    keep_running: bool = False
    seed: int = 1
    live_probes: int = 4
    live_seconds: float = 20.0
    loadtest_students: int = 300
    loadtest_seconds: int = 30
    readiness_platform: str = "api"         # of the shipped `readiness` profile: a small declared API
    readiness_budget: str = "30s"


@dataclass
class Outcome:
    """What the stages produced (written to demo.json, read by index.html and the tests)."""

    history_first: str = ""
    history_records: int = 0
    live: list[dict] = field(default_factory=list)
    loadtest_exit: int | None = None
    readiness: str = "not run"
    report_files: list[str] = field(default_factory=list)
    queries: dict[str, int] = field(default_factory=dict)


class Demo:
    """One run of the demo; `run()` goes through the stages and stops everything it started."""

    def __init__(self, settings: DemoSettings, console: Console):
        self.settings, self.console = settings, console
        self.out = settings.out
        self.services = Services(self.out, Children(self.out))
        self.outcome = Outcome()
        self.calendar = SchoolCalendar.load()
        self._stage = 0

    def stage(self, title: str) -> None:
        """The progress line of the next stage."""
        self._stage += 1
        self.console.print(f"[bold cyan][{self._stage}/{STAGES}][/bold cyan] {title}", highlight=False)

    def say(self, text: str) -> None:
        """A line under the current stage."""
        self.console.print(f"      {text}", highlight=False)

    def run(self) -> None:
        """Every stage, then (with keep_running) wait for Ctrl-C; everything started is stopped on return."""
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._stages()
            if self.settings.keep_running:
                self.console.print("running until Ctrl-C:", highlight=False)
                for name, url in self.services.urls.items():
                    self.say(f"{name}: {url}")
                while True:
                    time.sleep(3600)
        finally:
            self.console.print("stopping every service and process of the demo ...", highlight=False)
            self.services.stop()
            signal.signal(signal.SIGTERM, previous)

    def _stages(self) -> None:
        registry = self.registry()
        self.stage("the collector on loopback (SQLite store in the output folder)")
        self.services.start_collector(self.out / "registry.csv", self.settings.days)
        self.say(f"{self.services.collector.url}  (OpenAPI at /docs, Prometheus at /metrics)")
        live_schools = pick_schools(registry, self.calendar, self.settings.live_probes, datetime.now(UTC))
        self.history(registry, {s.school_id for s in live_schools})
        self.stage("the ndt7 server and the platform simulator (processes of their own)")
        ndt7 = self.services.start_ndt7()
        platforms = self.services.start_platform_simulator()
        self.say(f"ndt7 {ndt7}; platform simulator {platforms}")
        self.live(live_schools, ndt7, platforms)
        exported = self.dashboards()
        prometheus_url = self.prometheus(exported)
        self.loadtest(platforms, prometheus_url, exported, live_schools[0].school_id)
        readiness = self.readiness()
        self.dashboard_queries(prometheus_url, exported, self._dashboard_school(registry, live_schools))
        workbook = self.report(readiness)
        self.index(workbook)

    def _dashboard_school(self, registry: Registry, live: list) -> str:
        """The school the school dashboard's queries are run for: a live one, judged and with a download if any."""
        best = max(self.outcome.live, key=lambda p: (p["verdict"] != "no data", "download" in p["records"]),
                   default=None)
        return best["school_id"] if best else live[0].school_id

    def registry(self) -> Registry:
        """Stage 1: a synthetic national registry in out/registry.csv."""
        self.stage(f"a synthetic registry of {self.settings.schools:,} schools (seed {self.settings.seed})")
        registry = generate_registry(self.settings.schools, self.settings.seed)
        registry.save(self.out / "registry.csv")
        rural = sum(s.locality.value == "rural" for s in registry) / len(registry)
        students = sum(s.students for s in registry)
        self.say(f"{len(registry):,} schools, {rural:.0%} rural, {students:,} students -> registry.csv "
                 f"(labelled synthetic)")
        return registry

    def history(self, registry: Registry, live: set[str]) -> None:
        """Stage 3: the fleet simulator's history of every school without a live probe, into the store."""
        days = self.settings.days
        first = date.today() - timedelta(days=days)
        self.stage(f"{days} days of simulated history ({first} to {date.today() - timedelta(days=1)}) for the "
                   f"{len(registry) - len(live):,} schools without a live probe")
        raw_days = min(HISTORY_RAW_DAYS, days)
        cut = date.today() - timedelta(days=raw_days)
        self.say(f"the last {raw_days} days ({cut} on) as raw rows, rolled up per school-day and judged from the "
                 "store by the collector's own path")
        if days > raw_days:
            self.say(f"the {days - raw_days} days before ({first} to {cut - timedelta(days=1)}) rolled up and judged "
                     "from memory by the same code: only their daily roll-ups and day verdicts are stored")
        rest = Registry(tuple(s for s in registry if s.school_id not in live), registry.notes)
        simulator = FleetSimulator(rest, self.calendar, self.settings.seed, LEAN)
        store = Store(self.services.db)
        shown = [time.monotonic(), 0]

        interrupted = []

        def progress(count: int) -> None:             # between chunks: the one safe point to stop writing
            if interrupted:
                raise KeyboardInterrupt
            shown[1] += count
            if time.monotonic() - shown[0] > 3:
                shown[0] = time.monotonic()
                self.say(f"{shown[1]:,} records ...")

        handlers = {signum: signal.signal(signum, lambda *_: interrupted.append(True))
                    for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            written = into_store(simulator, store, first, days, [load_policy("ministry")], on_progress=progress,
                                 raw_days=raw_days, workers=os.cpu_count() or 1)
            store.sync_schools(registry)          # the live schools belong in the views Grafana joins, too
            raw, judged = store.count(), len(store.daily_verdicts("ministry"))
        finally:
            store.close()
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        if interrupted:
            raise KeyboardInterrupt
        self.outcome.history_first, self.outcome.history_records = first.isoformat(), written
        self.say(f"{written:,} records ({len(simulator.silent)} probes silent by design); the store holds {raw:,} "
                 f"raw rows and {judged:,} judged school-days")

    def live(self, schools, ndt7: str, platforms: str) -> None:
        """Stage 5: live probes enrol with codes, measure for real and upload through the ingest API."""
        self.stage(f"{len(schools)} live probes: enrolled with one-time codes, measuring for real for "
                   f"{self.settings.live_seconds:.0f} s")
        now = datetime.now(UTC)
        for school in schools:
            session = "in session now" if self.calendar.in_school_hours(school, now) else "outside its school hours now"
            self.say(f"{school.school_id} ({school.category.value}, {school.locality.value}): {session}")
        plan = LivePlan(self.services.collector.url, ndt7, platforms, len(schools), self.settings.live_seconds)
        probes = asyncio.run(run_live_probes(plan, schools, self.services.db, self.out / "probes", self.say))
        metrics = self.services.collector_metrics()
        for probe in probes:
            exported = metrics.count(f'school_id="{probe.school.school_id}"')
            verdict = today_verdict(self.services.db, probe.school, self.calendar)
            counted = {r.norm: r.samples for r in verdict.results}
            self.say(f"{probe.school.school_id} probe {probe.probe_id}: {dict(probe.kinds)} via "
                     f"{', '.join(sorted(probe.methods))}; clock offset {probe.clock_offset_seconds:+.3f} s; "
                     f"{exported} series in /metrics")
            self.say(f"   today's verdict ({verdict.policy}): {verdict.status.value}; samples counted {counted}")
            self.outcome.live.append({**_live_record(probe, now, self.calendar, exported),
                                      "verdict": verdict.status.value, "counted": counted})
        self.say("verdicts count school-hour results only: results outside a school's hours are stored and exported"
                 " but not judged")
        self._save()

    def dashboards(self) -> Path:
        """Stage 6: Grafana dashboards, provisioning, Prometheus rules into out/dashboards."""
        self.stage("dashboards, provisioning and Prometheus rules (mektepnet dashboards export)")
        exported = self.out / "dashboards"
        self._child("dashboards", cli("dashboards", "export", "--out", str(exported)))
        self.say(f"{len(list((exported / 'grafana' / 'dashboards').glob('*.json')))} dashboards -> {exported}")
        return exported

    def prometheus(self, exported: Path) -> str | None:
        """Stage 7: Prometheus scraping the collector, the ndt7 server and the load-test master, where installed."""
        self.stage("Prometheus scraping the collector, the ndt7 server and the load-test master")
        if prometheus.binary() is None:
            self.say("prometheus is not installed: skipped (bash scripts/setup.sh installs it)")
            return None
        self._master_metrics_port = free_port()
        folder = self.out / "prometheus"
        folder.mkdir(exist_ok=True)
        urls = self.services.urls
        config = prometheus.write_config(exported, folder, urls["collector"].removeprefix("http://"),
                                         urls["ndt7_metrics"].removeprefix("http://").removesuffix("/metrics"),
                                         f"127.0.0.1:{self._master_metrics_port}")
        url = prometheus.start(self.services.children, config)
        self.services.remember("prometheus", url)
        self.say(f"{url} (configuration: prometheus/prometheus.yml, rules every 2 s)")
        return url

    def loadtest(self, platforms: str, prometheus_url: str | None, exported: Path, school_id: str) -> None:
        """Stage 8: a short first bell on the platform simulator (Locust master and worker processes)."""
        settings = self.settings
        self.stage(f"the first bell: {settings.loadtest_students} students in {settings.loadtest_seconds} s on "
                   "the platform simulator (mektepnet loadtest run)")
        port = getattr(self, "_master_metrics_port", 0)
        argv = cli("loadtest", "run", "--headless", "--json", "--host", platforms, "--workers", "1",
                   "--students", str(settings.loadtest_students), "--shape", "first-bell",
                   "--duration", f"{settings.loadtest_seconds}s", "--metrics-port", str(port),
                   "--master-port", str(free_port()), "--run-dir", str(self.out / "loadtest"))
        queries = [q for q in prometheus.dashboard_queries(exported) if prometheus.source_of(q[2]) == "loadtest"]
        best: dict[tuple[str, str, str], prometheus.QueryCheck] = {}

        def tick(elapsed: float) -> None:
            self.say(f"{elapsed:.0f} s of the load test ...")
            if prometheus_url and elapsed > 10:
                for check in prometheus.run_queries(prometheus_url, queries, school_id):
                    key = (check.dashboard, check.panel, check.expr)
                    if key not in best or check.series > best[key].series:
                        best[key] = check

        self.outcome.loadtest_exit = self._child("loadtest", argv, tick, check=False)
        self._loadtest_checks = list(best.values())
        summary = read_json(self.out / "loadtest" / "summary.json") or {}
        if summary:
            self.say(f"{summary['requests']:,} requests, {summary['failures']:,} failures, p95 "
                     f"{summary['p95_ms']:.0f} ms; stop: {summary['stop']}")
        else:
            self.say(f"the load test wrote no summary (exit {self.outcome.loadtest_exit}); see logs/loadtest.log")

    def readiness(self) -> Path | None:
        """Stage 9: the reduced readiness check (one platform, a 30 s budget), when this build has it."""
        settings = self.settings
        self.stage(f"reduced readiness: {settings.readiness_platform}, SLO {READINESS_SLO}, budget "
                   f"{settings.readiness_budget} (labelled reduced: a real verdict needs a longer search)")
        run_dir = self.out / "readiness"
        code = self._child("readiness", cli("loadtest", "readiness", "--platform", settings.readiness_platform,
                                            "--slo", READINESS_SLO, "--budget", settings.readiness_budget,
                                            "--profile", "readiness", "--start-rps", "150",
                                            "--run-dir", str(run_dir), "--json"), check=False)
        result = run_dir / "readiness.json"
        self.outcome.readiness = f"reduced (exit {code})" if result.exists() else f"failed (exit {code})"
        self.say(f"readiness: {self.outcome.readiness}; {result if result.exists() else 'see logs/readiness.log'}")
        return result if result.exists() else None

    def dashboard_queries(self, prometheus_url: str | None, exported: Path, school_id: str) -> None:
        """Stage 10: every PromQL query of the dashboards on the demo's Prometheus; how many return data."""
        self.stage("the dashboards' queries on the demo's Prometheus")
        if prometheus_url is None:
            self.say("skipped: no Prometheus")
            return
        queries = [q for q in prometheus.dashboard_queries(exported) if prometheus.source_of(q[2]) != "loadtest"]
        checks = prometheus.run_queries(prometheus_url, queries, school_id) + getattr(self, "_loadtest_checks", [])
        prometheus.save(checks, self.out / "prometheus" / "checks.json")
        for source in ("collector", "ndt7", "loadtest", "snmp", "fleet"):
            mine = [c for c in checks if c.source == source]
            answered = sum(c.series > 0 for c in mine)
            self.outcome.queries[source] = answered
            if mine:
                self.say(f"{source}: {answered} of {len(mine)} panel queries return data"
                         + {"snmp": " (no SNMP devices in the demo)",
                            "fleet": " (the demo publishes no signed updates)"}.get(source, ""))
        self._save()

    def report(self, readiness: Path | None) -> Path | None:
        """Stage 11: the deputies' report (HTML, PDF, XLSX) over the history and today."""
        first, last = self.outcome.history_first, date.today().isoformat()
        self.stage(f"the deputies' inequality report, {first} to {last}, in {self.settings.lang} "
                   "(mektepnet report inequality)")
        argv = cli("report", "inequality", "--db", self.services.db, "--registry", str(self.out / "registry.csv"),
                   "--from", first, "--to", last, "--lang", self.settings.lang, "--out", str(self.out / "report"))
        if readiness is not None:
            argv += ["--readiness", str(readiness)]
        self._child("report", argv, stdout_file=self.out / "logs" / "report.out")
        files = sorted((self.out / "report").glob("inequality-*"))
        self.outcome.report_files = [f.relative_to(self.out).as_posix() for f in files]
        self.say(", ".join(self.outcome.report_files))
        return next((f for f in files if f.suffix == ".xlsx"), None)

    def index(self, workbook: Path | None) -> None:
        """Stage 12: index.html with the headline figures and a link to every file."""
        self.stage("index.html: the headline figures and every file")
        from collectors.demo.summary import fill_page

        page = IndexPage("MektepNet demo")
        fill_page(page, self.out, self.outcome, headline(workbook) if workbook else None)
        self._save()
        path = write_index(page, self.out)
        self.console.print(f"\n[bold]Open {path.resolve().as_uri()}[/bold]", highlight=False)
        self.console.print(f"Everything is in {self.out}/: report/, dashboards/, loadtest/, prometheus/, logs/",
                           highlight=False)

    def _child(self, name: str, argv: list[str], tick=None, check: bool = True, stdout_file: Path | None = None) -> int:
        """Run one `mektepnet` step as a child process, saying something every few seconds; its exit code."""
        stdout = stdout_file.open("wb") if stdout_file else None
        try:
            process = self.services.children.start(name, argv, stdout=stdout.fileno() if stdout else None)
            code = self.services.children.wait(process, tick or (lambda s: self.say(f"{s:.0f} s ...")))
        finally:
            if stdout:
                stdout.close()
        if check and code != 0:
            raise RuntimeError(f"{name} failed (exit {code}); see {self.services.children.logs / (name + '.log')}")
        return code

    def _save(self) -> None:
        (self.out / "demo.json").write_text(json.dumps(asdict(self.outcome), indent=2), encoding="utf-8")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _live_record(probe: LiveProbe, now: datetime, calendar: SchoolCalendar, exported: int) -> dict:
    return {"school_id": probe.school.school_id, "probe_id": probe.probe_id, "records": dict(probe.kinds),
            "methods": sorted(probe.methods), "clock_offset_seconds": probe.clock_offset_seconds,
            "in_school_hours": calendar.in_school_hours(probe.school, now), "pending": probe.pending,
            "series_in_metrics": exported}
