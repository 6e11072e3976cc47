"""Push the dashboards and both data sources to a running Grafana through its HTTP API, idempotently.

Grafana's documented API (grafana-client speaks it): `GET /api/folders/:uid`, `POST /api/folders` once;
`GET /api/datasources/uid/:uid`, then `PUT /api/datasources/uid/:uid` or `POST /api/datasources`;
`POST /api/dashboards/db` with `overwrite: true` and `folderUid`, so the same uid is updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from core.norms import Policy
from dashboards import DASHBOARDS, dashboard_json
from dashboards.errors import DashboardsError
from dashboards.provisioning import FOLDER_TITLE, FOLDER_UID, Targets, datasources

NOT_FOUND = 404


@dataclass(frozen=True)
class PushResult:
    """What a push did: the folder created or found, data sources created or updated, dashboards saved."""

    folder_created: bool
    datasources: dict[str, str]          # uid -> "created" | "updated"
    dashboards: dict[str, str]           # uid -> Grafana's URL of the saved dashboard


def client(url: str, token: str, timeout_seconds: float = 30.0) -> GrafanaApi:
    """A Grafana API client for `url` (http or https) with a service-account token."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DashboardsError(f"--grafana-url={url!r}: must be http(s)://host[:port][/path]")
    if not token:
        raise DashboardsError("--token='': a Grafana service-account token is required")
    return GrafanaApi.from_url(url, credential=token, timeout=timeout_seconds)


def _exists(call) -> bool:
    try:
        call()
    except GrafanaClientError as exc:
        if exc.status_code == NOT_FOUND:
            return False
        raise
    return True


def push(api: GrafanaApi, policy: Policy, targets: Targets = Targets(),
         postgres_password: str | None = None) -> PushResult:
    """Create the folder once, create or update both data sources, save every dashboard with overwrite."""
    try:
        folder_created = not _exists(lambda: api.folder.get_folder(FOLDER_UID))
        if folder_created:
            api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        done: dict[str, str] = {}
        for source in datasources(targets)["datasources"]:
            source = {key: value for key, value in source.items() if key != "secureJsonData"}
            if source["uid"] == "mektepnet-postgres" and postgres_password:
                source["secureJsonData"] = {"password": postgres_password}
            if _exists(lambda: api.datasource.get_datasource_by_uid(source["uid"])):
                api.datasource.update_datasource_by_uid(source["uid"], source)
                done[source["uid"]] = "updated"
            else:
                api.datasource.create_datasource(source)
                done[source["uid"]] = "created"
        saved = {}
        for uid in DASHBOARDS:
            answer = api.dashboard.update_dashboard({
                "dashboard": dashboard_json(uid, policy), "folderUid": FOLDER_UID, "overwrite": True,
                "message": f"mektepnet dashboards push (policy {policy.name})"})
            saved[uid] = answer.get("url", "") if isinstance(answer, dict) else ""
    except GrafanaException as exc:
        raise DashboardsError(f"Grafana refused the push: {exc}") from None
    return PushResult(folder_created, done, saved)
