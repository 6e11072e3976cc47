"""`mektepnet dashboards`: export Grafana dashboards, provisioning and Prometheus rules, or push them to Grafana."""

from __future__ import annotations

import functools
from pathlib import Path

import typer

from cli.common import EXIT_BAD_INPUT, console, err_console, refuses_bad_input
from core.norms import SHIPPED_POLICIES, load_policy

app = typer.Typer(no_args_is_help=True, help="Grafana dashboards, Prometheus rules and Alertmanager routing.")

_POLICY = typer.Option("ministry", "--policy", help=f"The norms policy the thresholds come from: "
                                                     f"{', '.join(SHIPPED_POLICIES)} or a YAML file.")


def _refuses_dashboards_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from dashboards.errors import DashboardsError

        try:
            return command(*args, **kwargs)
        except DashboardsError as exc:
            err_console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    return wrapper


@app.command()
@refuses_bad_input
def export(out: Path = typer.Option(..., "--out", help="Folder to write into (created if missing)."),
           policy: str = _POLICY) -> None:
    """Write dashboard JSON, Grafana provisioning, prometheus.yml, the rules and alertmanager.yml.

    Example: mektepnet dashboards export --out build/monitoring --policy ministry
    """
    from dashboards.provisioning import export as write_all

    written = write_all(out, load_policy(policy))
    for path in written:
        console.print(str(path), markup=False, highlight=False)


@app.command()
@refuses_bad_input
@_refuses_dashboards_errors
def push(grafana_url: str = typer.Option(..., "--grafana-url", help="Grafana's base URL, e.g. https://grafana.edu.kz"),
         token: str = typer.Option(..., "--token", envvar="GRAFANA_TOKEN", help="A service-account token."),
         policy: str = _POLICY,
         postgres_password: str = typer.Option("", "--postgres-password", envvar="MEKTEPNET_GRAFANA_DB_PASSWORD",
                                               help="Password of the store's read-only user for Grafana.")) -> None:
    """Create the folder once, create or update both data sources, save every dashboard in place (same uid).

    Example: mektepnet dashboards push --grafana-url https://grafana.edu.kz --token $GRAFANA_TOKEN
    """
    from dashboards.push import client, push as push_all

    result = push_all(client(grafana_url, token), load_policy(policy), postgres_password=postgres_password or None)
    console.print(f"folder: {'created' if result.folder_created else 'kept'}", markup=False)
    for uid, action in result.datasources.items():
        console.print(f"data source {uid}: {action}", markup=False)
    for uid, url in result.dashboards.items():
        console.print(f"dashboard {uid}: saved {url}", markup=False)
