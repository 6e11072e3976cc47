"""Every PromQL expression of every panel, variable and rule runs on a real Prometheus that scraped a real
collector (with the generated rules loaded); those of the collector's metrics must return series."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import yaml

from core.measurement import Kind
from core.norms import load_policy
from dashboards import DASHBOARDS, dashboard_json
from dashboards.rules import rule_groups
from probes.context import ProbeContext
from tests.helpers.cli import ROOT
from tests.helpers.collector import example_collector
from tests.helpers.platformsim import platform_sim
from tests.helpers.ports import free_port
from tests.helpers.prometheus import prometheus_with_config
from tests.helpers.tools import require_tool

VARIABLES = {"$region": ".*", "$school": "KZ-002", "$platform": ".*", "$__rate_interval": "1m", "$__range": "5m"}
# Sources this test does not run: their expressions must parse and run, not return series.
NOT_RUN_HERE = ("loadtest", "snmp", "ndt7")
LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")


def expand(expr: str) -> str:
    """The expression as Grafana sends it, variables and macros replaced."""
    for name, value in sorted(VARIABLES.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(name, value)
    return expr


def panel_and_variable_queries(policy) -> list[tuple[str, str]]:
    found = []
    for uid in DASHBOARDS:
        board = dashboard_json(uid, policy)
        for panel in board["panels"]:
            found += [(f"{uid}: {panel['title']}", target["expr"]) for target in panel["targets"] if "expr" in target]
        found += [(f"{uid}: ${variable['name']}", variable["query"]) for variable in board["templating"]["list"]
                  if variable["type"] == "query"]
    return found


def _get(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=20) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as exc:
        return json.load(exc)
    except OSError as exc:                            # not listening yet
        return {"status": f"unreachable: {exc}"}


def _fresh_records(context: ProbeContext) -> list:
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    records = [context.record(Kind.HTTP, f"https://{host}/", "http-get", start, {"status_code": 200.0,
                                                                                "total_seconds": 0.3})
               for host in ("kundelik.kz", "bilimland.kz")]
    records.append(context.record(Kind.DOWNLOAD, "ndt7.edu.kz", "ndt7", start, {
        "throughput_bps": 1e6, "loaded_rtt_seconds": 0.4, "idle_rtt_seconds": 0.05}))
    return [record.model_copy(update={"clock_offset_seconds": 0.0}) for record in records]


def _rolling_fleet(tmp_path):
    """A fleet repository whose agent 0.2.0 rolls out to 25 %: every mektepnet_fleet_* series exists."""
    from collectors.fleet.releases import publish_wheel
    from collectors.fleet.repository import FleetRepository
    from collectors.fleet.rollout import Plan, start
    from tests.helpers.fleet import stub_wheel

    repository = FleetRepository.create(tmp_path / "fleet", tmp_path / "root.pem")
    for version in ("0.1.0", "0.2.0"):
        publish_wheel(repository, stub_wheel(tmp_path, version, ""), version)
    start(repository, "agent", Plan(stages_percent=(25.0, 100.0)))
    return repository.fleet_dir


def test_every_expression_runs_and_the_collectors_return_series(tmp_path, small_registry, calendar):
    policy = load_policy("ministry")
    groups = rule_groups(policy)
    for group in groups["groups"]:
        group["interval"] = "1s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups, allow_unicode=True))
    with example_collector(tmp_path, small_registry, calendar, _fresh_records, _rolling_fleet(tmp_path)) as (
            url, _, _):
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp_path / "rules.yml")],
            "scrape_configs": [{"job_name": "mektepnet-collector",
                                "static_configs": [{"targets": [url.removeprefix("http://")]}]}]}))
        port = free_port()
        process = subprocess.Popen([require_tool("prometheus"), f"--config.file={tmp_path / 'prometheus.yml'}",
                                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        api = f"http://127.0.0.1:{port}/api/v1"
        try:
            results = _run_all(api, policy, groups)
        finally:
            process.terminate()
            process.wait(15)
    assert _failures(results) == []
    assert len(results) > 60 and sum(must for *_, must in results) > 40


def _run_all(api: str, policy, groups) -> list[tuple[str, str, dict, bool]]:
    wanted = 'mektepnet:school_download_norm:ratio{school_id="KZ-002"}'
    for _ in range(200):                              # until scraped, judged and recorded (every second)
        answer = _get(f"{api}/query?{urllib.parse.urlencode({'query': wanted})}")
        meets = _get(f"{api}/query?{urllib.parse.urlencode({'query': 'mektepnet_school_meets_norms'})}")
        if answer.get("data", {}).get("result") and len(meets.get("data", {}).get("result", [])) == 2:
            break
        time.sleep(0.2)
    time.sleep(2)                                     # one more round of every rule group
    expressions = panel_and_variable_queries(policy)
    expressions += [(f"rule {rule.get('record') or rule.get('alert')}", rule["expr"])
                    for group in groups["groups"] for rule in group["rules"]]
    results = []
    for where, expr in expressions:
        expanded = expand(expr)
        # Alerts answer only while firing; every panel, variable and recording rule of the collector must answer.
        alert = where.startswith("rule ") and not where.startswith("rule mektepnet:")
        must = not alert and not any(source in expr for source in NOT_RUN_HERE)
        results.append((where, expanded, _answer(api, expanded), must))
    return results


def _answer(api: str, expanded: str) -> dict:
    """Prometheus' answer to an expanded expression; `label_values()` as the label look-up Grafana makes."""
    match = LABEL_VALUES.match(expanded)
    if match:
        query = urllib.parse.urlencode({"match[]": match["match"]})
        return _get(f"{api}/label/{match['label']}/values?{query}")
    return _get(f"{api}/query?{urllib.parse.urlencode({'query': expanded})}")


def _failures(results: list[tuple[str, str, dict, bool]]) -> list[str]:
    """Expressions that failed, or returned nothing where they must return series (or label values)."""
    return [f"{where}: {expr}: {answer}" for where, expr, answer, must in results
            if answer.get("status") != "success" or (must and not answer["data"] if isinstance(
                answer.get("data"), list) else must and not answer.get("data", {}).get("result"))]


def test_the_load_test_expressions_return_series_from_a_running_master(tmp_path):
    policy = load_policy("ministry")
    groups = rule_groups(policy)
    for group in groups["groups"]:
        group["interval"] = "1s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups, allow_unicode=True))
    metrics_port = free_port()
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": [str(tmp_path / "rules.yml")],
        "scrape_configs": [{"job_name": "mektepnet-loadtest",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}]}))
    with platform_sim() as url, prometheus_with_config(tmp_path / "prometheus.yml", tmp_path) as server:
        run = subprocess.Popen(
            [sys.executable, "-m", "cli", "loadtest", "run", "--headless", "--json", "--host", url, "--workers", "1",
             "--students", "80", "--shape", "first-bell", "--duration", "30s", "--metrics-port", str(metrics_port),
             "--master-port", str(free_port()), "--run-dir", str(tmp_path / "run")],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            server.wait_for("mektepnet:loadtest_p95:seconds and on (platform) mektepnet:loadtest_error:ratio", 60)
            api = f"{server.url}/api/v1"
            expressions = [(where, expr) for where, expr in panel_and_variable_queries(policy) if "loadtest" in expr]
            expressions += [(f"rule {rule.get('record') or rule.get('alert')}", rule["expr"])
                            for group in groups["groups"] for rule in group["rules"] if "loadtest" in rule["expr"]]
            results = [(where, expand(expr), _answer(api, expand(expr)), not where.startswith("rule Platform"))
                       for where, expr in expressions]
            errors = run.communicate(timeout=120)[1]
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert run.returncode == 0, errors[-2000:]
    assert _failures(results) == []
    assert sum(must for *_, must in results) >= 10
