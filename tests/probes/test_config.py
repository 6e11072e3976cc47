"""Probe configuration: defaults from core's schedule, and every refusal names the field and value (exit 2)."""

from __future__ import annotations

import pytest

from core.errors import CoreError
from core.schedule import DEFAULT_PLATFORMS
from probes.config import ProbeConfig, load_config
from tests.helpers.cli import FIXTURES, run_cli

PROBE = FIXTURES / "probe"


def test_defaults_follow_the_core_schedule():
    config = load_config(PROBE / "valid.yaml")
    jobs = {job.prober: job for job in config.jobs}
    assert jobs["icmp"].targets == ("collector.example.kz",) and jobs["icmp"].interval_seconds == 300
    assert jobs["dns"].targets == DEFAULT_PLATFORMS
    assert jobs["http"].targets[0] == "https://kundelik.kz/"
    assert config.throughput.daytime_tests == 3 and config.throughput.night_tests == 1


def test_digest_changes_with_the_configuration():
    base = load_config(PROBE / "valid.yaml")
    changed = base.model_copy(update={"school_id": "KZ-002"})
    assert base.digest() != changed.digest() and len(base.digest()) == 12


@pytest.mark.parametrize("name, field, value", [
    ("unknown-prober", "jobs.0.prober", "traceroute"),
    ("negative-interval", "jobs.0.interval_seconds", "-5"),
    ("plain-http", "collector", "http://collector.example.kz"),
    ("missing-school", "school_id", None),
    ("bad-budget", "throughput.daily_budget_bytes", "-1"),
])
def test_bad_configs_are_refused_with_field_and_value(name, field, value):
    with pytest.raises(CoreError) as caught:
        load_config(PROBE / f"{name}.yaml")
    shown = str(caught.value)
    assert field in shown
    if value is not None:
        assert value in shown
    result = run_cli("probe", "once", "--config", str(PROBE / f"{name}.yaml"), "--no-throughput")
    assert result.returncode == 2 and field in result.stderr


def test_plain_http_is_allowed_on_loopback_only():
    assert ProbeConfig(collector="http://127.0.0.1:8443", school_id="KZ-001").collector == "http://127.0.0.1:8443"
    with pytest.raises(ValueError, match="https"):
        ProbeConfig(collector="http://198.18.0.1:8443", school_id="KZ-001")


def test_the_shipped_examples_are_valid_and_compose():
    import yaml

    from probes.agent import effective_config
    from tests.helpers.cli import ROOT

    local = load_config(ROOT / "deploy" / "probe.example.yaml")
    served = yaml.safe_load((ROOT / "deploy" / "collector-probe-config.example.yaml").read_text())
    effective = effective_config(local, served)
    assert len(effective.modules.ndt7.servers) == 3 and effective.modules.ndt7.region == "ALM"
    assert effective.modules.icmp == local.modules.icmp and effective.digest() != local.digest()
