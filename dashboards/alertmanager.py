"""Alertmanager routing: by severity, then by region, grouped so that one region's outage is one notification.

Every school alert carries `region`; grouping by (alertname, region) folds 300 silent probes of one region
into one message. Critical alerts go to the ministry's on-call, load-test alerts to the load-test operators,
each region's warnings to that region's education department. Receivers are webhooks; replace the URLs.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.regions import REGIONS

WEBHOOK_BASE = "http://alerts.mektepnet.local/hooks"


@dataclass(frozen=True)
class Grouping:
    """How long Alertmanager gathers a group before its first notification, between updates, before a repeat
    (Alertmanager durations)."""

    group_wait: str = "1m"
    group_interval: str = "5m"
    repeat_interval: str = "4h"


def _webhook(name: str, base: str) -> dict:
    return {"name": name, "webhook_configs": [{"url": f"{base}/{name}", "send_resolved": True}]}


def alertmanager_config(webhook_base: str = WEBHOOK_BASE, grouping: Grouping = Grouping()) -> dict:
    """alertmanager.yml as a YAML-ready document; receivers post to `webhook_base`/<receiver>."""
    regional = [{"matchers": [f'region="{region.code}"'], "receiver": f"region-{region.code}"} for region in REGIONS]
    receivers = ["ministry-it", "ministry-oncall", "loadtest-operators", *(f"region-{r.code}" for r in REGIONS)]
    return {
        "route": {
            "receiver": "ministry-it",
            "group_by": ["alertname", "region"],
            "group_wait": grouping.group_wait, "group_interval": grouping.group_interval,
            "repeat_interval": grouping.repeat_interval,
            "routes": [
                {"matchers": ['alertname="PlatformSloBroken"'], "receiver": "loadtest-operators",
                 "group_by": ["alertname", "platform"]},
                {"matchers": ['severity="critical"'], "receiver": "ministry-oncall", "continue": True},
                *regional,
            ],
        },
        "inhibit_rules": [
            # A region whose compliance collapses is one incident: its schools' all-day alerts are implied.
            {"source_matchers": ['alertname="RegionComplianceDropping"'],
             "target_matchers": ['alertname="SchoolBelowNormAllDay"'], "equal": ["region"]},
        ],
        "receivers": [_webhook(name, webhook_base) for name in receivers],
    }
