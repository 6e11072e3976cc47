"""What a Grafana and Prometheus administrator drops in: dashboard JSON, provisioning YAML, scrape jobs, rules.

Layout of the exported folder:
  grafana/dashboards/<uid>.json            the dashboards
  grafana/provisioning/dashboards/mektepnet.yaml   file provider pointing at grafana/dashboards
  grafana/provisioning/datasources/mektepnet.yaml  Prometheus and PostgreSQL (uids the variables default to)
  prometheus/prometheus.yml                scrape jobs: collector, ndt7 servers, load-test master; rule file
  prometheus/rules/mektepnet.rules.yml     recording and alerting rules from the norms policy
  alertmanager/alertmanager.yml            routing by region and severity
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.norms import Policy
from dashboards import DASHBOARDS, dashboard_json
from dashboards.alertmanager import alertmanager_config
from dashboards.rules import AlertSettings, rule_groups
from dashboards.sql import POSTGRES_TYPE

FOLDER_TITLE, FOLDER_UID = "MektepNet", "mektepnet"
DASHBOARDS_DIR = "/var/lib/grafana/dashboards/mektepnet"
RULES_FILE = "rules/mektepnet.rules.yml"


@dataclass(frozen=True)
class Targets:
    """Where Prometheus finds the services (host:port) and Grafana the data sources."""

    collectors: tuple[str, ...] = ("127.0.0.1:8443",)
    ndt7_servers: tuple[str, ...] = ("127.0.0.1:8080",)
    loadtest_masters: tuple[str, ...] = ("127.0.0.1:9646",)
    alertmanagers: tuple[str, ...] = ("127.0.0.1:9093",)
    prometheus_url: str = "http://127.0.0.1:9090"
    postgres_host: str = "127.0.0.1:5432"
    postgres_database: str = "mektepnet"
    postgres_user: str = "grafana_reader"
    scrape_interval: str = "30s"
    collector_scrape_timeout: str = "20s"        # a national fleet's page takes seconds; at most scrape_interval
    collector_scheme: str = "https"
    extra_labels: dict[str, str] = field(default_factory=dict)


def datasources(targets: Targets) -> dict:
    """Grafana's data source provisioning; the dashboards' data source variables list these by type."""
    return {"apiVersion": 1, "datasources": [
        {"name": "MektepNet Prometheus", "uid": "mektepnet-prometheus", "type": "prometheus", "access": "proxy",
         "url": targets.prometheus_url, "isDefault": True, "jsonData": {"timeInterval": targets.scrape_interval}},
        {"name": "MektepNet store", "uid": "mektepnet-postgres", "type": POSTGRES_TYPE, "access": "proxy",
         "url": targets.postgres_host, "user": targets.postgres_user,
         "jsonData": {"database": targets.postgres_database, "sslmode": "require", "postgresVersion": 1500,
                      "timescaledb": False},
         "secureJsonData": {"password": "$MEKTEPNET_GRAFANA_DB_PASSWORD"}},
    ]}


def dashboard_provider() -> dict:
    """Grafana's file provider for the dashboards' folder (updates from disk, no edits saved in Grafana)."""
    return {"apiVersion": 1, "providers": [
        {"name": "mektepnet", "orgId": 1, "folder": FOLDER_TITLE, "folderUid": FOLDER_UID, "type": "file",
         "disableDeletion": True, "allowUiUpdates": False, "updateIntervalSeconds": 60,
         "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": False}}]}


def prometheus_config(targets: Targets) -> dict:
    """prometheus.yml: the three scrape jobs, the rules file and the Alertmanagers."""
    def job(name: str, hosts: tuple[str, ...], scheme: str = "http") -> dict:
        return {"job_name": name, "scheme": scheme, "static_configs": [{"targets": list(hosts)}]}

    return {
        "global": {"scrape_interval": targets.scrape_interval, "evaluation_interval": "1m",
                   **({"external_labels": targets.extra_labels} if targets.extra_labels else {})},
        "rule_files": [RULES_FILE],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(targets.alertmanagers)}]}]},
        "scrape_configs": [
            {**job("mektepnet-collector", targets.collectors, targets.collector_scheme), "scrape_timeout": targets.collector_scrape_timeout},
            job("mektepnet-ndt7", targets.ndt7_servers),
            {**job("mektepnet-loadtest", targets.loadtest_masters), "scrape_interval": "5s"},
        ],
    }


def _yaml(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def export(out: Path, policy: Policy, targets: Targets = Targets(),
           settings: AlertSettings = AlertSettings()) -> list[Path]:
    """Write every file under `out`; returns the paths written."""
    files: dict[str, str] = {f"grafana/dashboards/{uid}.json": json.dumps(dashboard_json(uid, policy), indent=2,
                                                                        ensure_ascii=False) + "\n"
                             for uid in DASHBOARDS}
    files["grafana/provisioning/dashboards/mektepnet.yaml"] = _yaml(dashboard_provider())
    files["grafana/provisioning/datasources/mektepnet.yaml"] = _yaml(datasources(targets))
    files["prometheus/prometheus.yml"] = _yaml(prometheus_config(targets))
    files[f"prometheus/{RULES_FILE}"] = _yaml(rule_groups(policy, settings))
    files["alertmanager/alertmanager.yml"] = _yaml(alertmanager_config())
    written = []
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
