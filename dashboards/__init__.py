"""Grafana dashboards and Prometheus rules as code, their provisioning files, and a push through the API."""

from __future__ import annotations

import json
from collections.abc import Callable

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from core.norms import Policy
from dashboards import fleet, national, platforms, region, school

# uid -> builder of each dashboard, in the order a person reads them.
DASHBOARDS: dict[str, Callable] = {
    national.UID: national.build, region.UID: region.build, school.UID: school.build,
    platforms.UID: platforms.build, fleet.UID: fleet.build,
}

__all__ = ["DASHBOARDS", "dashboard_json"]


def dashboard_json(uid: str, policy: Policy) -> dict:
    """One dashboard as the JSON model Grafana stores, under the norms of `policy`."""
    board = DASHBOARDS[uid](policy).build()
    return json.loads(json.dumps(board, cls=JSONEncoder))
