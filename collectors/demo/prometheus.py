"""The demo's Prometheus: the exported scrape configuration and rules aimed at the demo's services, and
the dashboards' PromQL run against it.

The configuration is the one `mektepnet dashboards export` writes, with the targets replaced by the
demo's ports, the collector over plain http on loopback, and scrapes and rules every two seconds
so a short demo has data. Queries are taken from the exported dashboard JSON, as Grafana sends them.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from collectors.demo.children import Children, free_port

INTERVAL = "2s"
# Grafana's variables and macros as the demo fills them in ($school is set to a live probe's school).
VARIABLES = {"$region": ".*", "$platform": ".*", "$__rate_interval": "1m", "$__range": "15m"}
# Metrics of other services, or of collector features the demo does not use (SNMP devices, signed updates).
SOURCES = ("loadtest", "snmp", "ndt7", "fleet")


@dataclass(frozen=True)
class QueryCheck:
    """One dashboard query run on the demo's Prometheus: where it is, what ran, how many series answered."""

    dashboard: str
    panel: str
    expr: str
    source: str          # collector, loadtest, snmp or ndt7
    series: int


def binary() -> str | None:
    """The `prometheus` executable, or None where it is not installed."""
    return shutil.which("prometheus")


def write_config(exported: Path, folder: Path, collector: str, ndt7: str, loadtest_master: str) -> Path:
    """prometheus.yml and rules in `folder` from the exported ones, aimed at the given host:port targets."""
    config = yaml.safe_load((exported / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {"mektepnet-collector": collector, "mektepnet-ndt7": ndt7, "mektepnet-loadtest": loadtest_master}
    config["global"].update(scrape_interval=INTERVAL, evaluation_interval=INTERVAL)
    config.pop("alerting", None)
    for job in config["scrape_configs"]:
        job.update(static_configs=[{"targets": [targets[job["job_name"]]]}], scheme="http",
                   scrape_interval=INTERVAL, scrape_timeout=INTERVAL)
    for name in config["rule_files"]:
        rules = yaml.safe_load((exported / "prometheus" / name).read_text(encoding="utf-8"))
        for group in rules["groups"]:
            group["interval"] = INTERVAL
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def start(children: Children, config: Path, seconds: float = 60.0) -> str:
    """Start Prometheus on `config` (its data under the same folder); its base URL once it is ready."""
    port = free_port()
    process = children.start("prometheus", [binary(), f"--config.file={config}",
                                            f"--storage.tsdb.path={config.parent / 'data'}",
                                            f"--web.listen-address=127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    while not _ready(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"prometheus did not start; see {children.logs / 'prometheus.log'}")
        time.sleep(0.2)
    return url


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def dashboard_queries(exported: Path) -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expression) of every PromQL target of the exported dashboards."""
    found = []
    for path in sorted((exported / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        found += [(board["uid"], panel["title"], target["expr"]) for panel in board["panels"]
                  for target in panel.get("targets", []) if "expr" in target]
    return found


def source_of(expr: str) -> str:
    """Which service's metrics an expression reads."""
    return next((source for source in SOURCES if source in expr), "collector")


def run_queries(url: str, queries: list[tuple[str, str, str]], school_id: str) -> list[QueryCheck]:
    """Every query, variables filled in, as an instant query; the number of series each returned."""
    filled = {**VARIABLES, "$school": school_id}
    checks = []
    for dashboard, panel, expr in queries:
        expanded = expr
        for name, value in sorted(filled.items(), key=lambda item: -len(item[0])):
            expanded = expanded.replace(name, value)
        checks.append(QueryCheck(dashboard, panel, expanded, source_of(expr), _series(url, expanded)))
    return checks


def _series(url: str, expr: str) -> int:
    address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    try:
        with urllib.request.urlopen(address, timeout=20) as answer:
            document = json.load(answer)
    except OSError:
        return 0
    return len(document["data"]["result"]) if document.get("status") == "success" else 0


def save(checks: list[QueryCheck], path: Path) -> None:
    """Write the checks as JSON (the index and the tests read it)."""
    path.write_text(json.dumps([asdict(check) for check in checks], indent=2, ensure_ascii=False), encoding="utf-8")
