"""The one exception type of `dashboards`."""

from __future__ import annotations


class DashboardsError(RuntimeError):
    """An export or a push that could not be done: the message names the option or the Grafana answer."""
