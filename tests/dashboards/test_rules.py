"""The generated rules pass `promtool check rules`, and `promtool test rules` shows every alert firing when it
should and staying silent when it should not (a probe silent at night or over a holiday included)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from core.norms import load_policy
from dashboards.provisioning import export
from dashboards.rules import AlertSettings, alert_rules
from tests.helpers.tools import require_tool

RURAL_A = {"school_id": "A", "name": "Aul school", "region": "akmola", "category": "rural"}
URBAN_B = {"school_id": "B", "name": "School No. 1", "region": "astana", "category": "urban"}


def _series(name: str, labels: dict[str, str], values: str) -> dict:
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _info(school: dict) -> dict:
    return _series("mektepnet_school_info", {**school, "district": "d", "locality": school["category"], "isp": "i",
                                             "latitude": "50", "longitude": "70"}, "1x3700")


def _alert(name: str, severity: str, labels: dict, summary: str, description: str) -> dict:
    return {"exp_labels": {"alertname": name, "severity": severity, **labels},
            "exp_annotations": {"summary": summary, "description": description}}


def _school(school: dict) -> dict:
    return {"school_id": school["school_id"], "region": school["region"], "name": school["name"]}


CASES = [
    {   # A (rural, norm 4 Mbit/s = 500 kB/s) below all day with a session; B (urban) above its norm.
        "interval": "1m",
        "input_series": [
            _info(RURAL_A), _info(URBAN_B),
            _series("mektepnet_school_download_bytes_per_second", {"school_id": "A"}, "250000x1500"),
            _series("mektepnet_school_download_bytes_per_second", {"school_id": "B"}, "5000000x1500"),
            *(_series("mektepnet_school_in_session", {"school_id": s}, "0x480 1x360 0x660") for s in "AB"),
        ],
        "alert_rule_test": [
            {"eval_time": "1450m", "alertname": "SchoolBelowNormAllDay", "exp_alerts": [_alert(
                "SchoolBelowNormAllDay", "warning", _school(RURAL_A),
                "Aul school (A) stayed below its download norm all day",
                "Every download result of the last 24 hours, a school session included, was below the norm "
                "(best share of the norm: 50%).")]},
        ],
    },
    {   # Below the norm but never in session (a holiday): no alert.
        "interval": "1m",
        "input_series": [
            _info(RURAL_A),
            _series("mektepnet_school_download_bytes_per_second", {"school_id": "A"}, "250000x1500"),
            _series("mektepnet_school_in_session", {"school_id": "A"}, "0x1500"),
        ],
        "alert_rule_test": [{"eval_time": "1450m", "alertname": "SchoolBelowNormAllDay", "exp_alerts": []}],
    },
    {   # The exporter's session silence: A reaches 6 school hours; B silent all night and over a holiday,
        # its session silence stays at 2 h because nights and holidays add nothing: no alert for B.
        "interval": "1m",
        "input_series": [
            _info(RURAL_A), _info(URBAN_B),
            _series("mektepnet_school_session_silence_seconds", {"school_id": "A"}, "0+60x400"),
            _series("mektepnet_school_session_silence_seconds", {"school_id": "B"}, "7200x3700"),
        ],
        "alert_rule_test": [
            {"eval_time": "5h", "alertname": "ProbeSilent", "exp_alerts": []},
            {"eval_time": "6h30m", "alertname": "ProbeSilent", "exp_alerts": [_alert(
                "ProbeSilent", "warning", _school(RURAL_A), "Aul school (A) silent for 6 school hours",
                "No result from the school's probe for 6h 30m 0s of session time (nights, weekends and holidays "
                "do not count).")]},
            {"eval_time": "60h", "alertname": "ProbeSilent", "exp_alerts": []},
        ],
    },
    {   # Akmola falls from 90 % to 60 % of its judged schools; Astana holds steady.
        "interval": "1m",
        "input_series": [
            _series("mektepnet_region_schools", {"region": "akmola", "state": "meeting"}, "90x1500 60x100"),
            _series("mektepnet_region_schools", {"region": "akmola", "state": "below"}, "10x1500 40x100"),
            _series("mektepnet_region_schools", {"region": "astana", "state": "meeting"}, "80x1600"),
            _series("mektepnet_region_schools", {"region": "astana", "state": "below"}, "20x1600"),
        ],
        "alert_rule_test": [
            {"eval_time": "1510m", "alertname": "RegionComplianceDropping", "exp_alerts": []},
            {"eval_time": "1550m", "alertname": "RegionComplianceDropping", "exp_alerts": [_alert(
                "RegionComplianceDropping", "critical", {"region": "akmola"}, "Compliance in akmola fell within a day",
                "The share of the region's judged schools meeting the norm is 30% lower than 24 hours ago.")]},
        ],
    },
    {   # A school's uplink at 95 % for 20 minutes (routed by its region), an operator port at 97 %, a quiet port.
        "interval": "1m",
        "input_series": [
            _info(RURAL_A),
            _series("mektepnet_snmp_target_info", {"target": "r1", "school_id": "A", "address": "10.0.0.1"}, "1x30"),
            _series("mektepnet_snmp_target_info", {"target": "op1", "school_id": "", "address": "10.0.0.2"}, "1x30"),
            _series("mektepnet_snmp_target_info", {"target": "r2", "school_id": "A", "address": "10.0.0.3"}, "1x30"),
            _series("mektepnet_snmp_interface_utilisation_ratio",
                    {"target": "r1", "interface": "wan", "direction": "in"}, "0.95x30"),
            _series("mektepnet_snmp_interface_utilisation_ratio",
                    {"target": "op1", "interface": "xe-0", "direction": "out"}, "0.97x30"),
            _series("mektepnet_snmp_interface_utilisation_ratio",
                    {"target": "r2", "interface": "wan", "direction": "in"}, "0.5x30"),
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "UplinkSaturated", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "UplinkSaturated", "exp_alerts": [
                _alert("UplinkSaturated", "warning", {"target": "r1", "interface": "wan", "direction": "in",
                                                      "school_id": "A", "region": "akmola"},
                       "r1 wan saturated", "Utilisation 95% (in) of the contracted or port capacity."),
                _alert("UplinkSaturated", "warning", {"target": "op1", "interface": "xe-0", "direction": "out"},
                       "op1 xe-0 saturated", "Utilisation 97% (out) of the contracted or port capacity."),
            ]},
        ],
    },
    {   # kundelik answers in 1-2 s (p95 above 0.8 s); bilimland within 0.5 s and without errors.
        "interval": "15s",
        "input_series": [
            *(_series("mektepnet_loadtest_request_duration_seconds_bucket",
                      {"platform": "kundelik", "endpoint": "login", "method": "POST", "le": le}, values)
              for le, values in (("0.5", "0x40"), ("1", "0x40"), ("2", "0+100x40"), ("+Inf", "0+100x40"))),
            *(_series("mektepnet_loadtest_request_duration_seconds_bucket",
                      {"platform": "bilimland", "endpoint": "login", "method": "POST", "le": le}, "0+100x40")
              for le in ("0.5", "1", "2", "+Inf")),
            *(_series("mektepnet_loadtest_requests_total", {"platform": p, "endpoint": "login", "outcome": "ok"},
                      "0+100x40") for p in ("kundelik", "bilimland")),
        ],
        "alert_rule_test": [
            {"eval_time": "1m", "alertname": "PlatformSloBroken", "exp_alerts": []},
            {"eval_time": "5m", "alertname": "PlatformSloBroken", "exp_alerts": [_alert(
                "PlatformSloBroken", "warning", {"platform": "kundelik"}, "kundelik broke its SLO in the load test",
                "p95 above 0.8 s or errors above 1%: value 1.95.")]},
        ],
    },
]


def test_rules_pass_promtool_check(tmp_path):
    for policy in ("ministry", "giga-2030", "equal-norms"):
        export(tmp_path / policy, load_policy(policy))
        rules = tmp_path / policy / "prometheus" / "rules" / "mektepnet.rules.yml"
        checked = subprocess.run([require_tool("promtool"), "check", "rules", str(rules)], capture_output=True,
                                 text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        config = subprocess.run([require_tool("promtool"), "check", "config", "--syntax-only",
                                 str(tmp_path / policy / "prometheus" / "prometheus.yml")], capture_output=True,
                                text=True, timeout=60)
        assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_fires_when_it_should_and_only_then(tmp_path):
    export(tmp_path, load_policy("ministry"))
    tested = {case["alertname"] for test in CASES for case in test["alert_rule_test"]}
    assert tested == {rule["alert"] for rule in alert_rules(AlertSettings())}
    silent_and_firing = {(case["alertname"], bool(case["exp_alerts"])) for test in CASES
                         for case in test["alert_rule_test"]}
    assert silent_and_firing == {(name, fires) for name in tested for fires in (True, False)}
    spec = tmp_path / "tests.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(tmp_path / "prometheus" / "rules" / "mektepnet.rules.yml")],
                                    "evaluation_interval": "1m", "tests": CASES}, allow_unicode=True))
    tested_run = subprocess.run([require_tool("promtool"), "test", "rules", str(spec)], capture_output=True,
                                text=True, timeout=300)
    assert tested_run.returncode == 0, tested_run.stdout + tested_run.stderr


def test_norm_thresholds_come_from_the_policy(tmp_path):
    for name, urban_bytes in (("ministry", 2.5e6), ("giga-2030", 2.5e6)):
        export(tmp_path / name, load_policy(name))
        text = Path(tmp_path / name / "prometheus" / "rules" / "mektepnet.rules.yml").read_text()
        assert f"vector({urban_bytes!r})" in text
    assert "> 400" in (tmp_path / "giga-2030" / "prometheus" / "rules" / "mektepnet.rules.yml").read_text()
    assert "> 400" not in (tmp_path / "ministry" / "prometheus" / "rules" / "mektepnet.rules.yml").read_text()
