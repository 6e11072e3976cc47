"""`mektepnet collector`: the centre's ingest API, enrolment codes and probe tokens."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, refuses_bad_input
from collectors import enrolment
from collectors.server import redacted, start
from collectors.settings import CollectorSettings, load_settings, store_location
from collectors.store import Store
from core.errors import CoreError
from core.school import SCHOOL_ID_PATTERN

app = typer.Typer(no_args_is_help=True, help="The centre: ingest API, enrolment, probe tokens.")

DB_HELP = "The store: a SQLite file (created if absent; sqlite:///path too) or a postgresql://user@host/db URL."
DEFAULT_DB = CollectorSettings.model_fields["db"].default


def _store_at(db: str) -> str:
    """The store a --db option names (CoreError naming the option if it cannot be one)."""
    try:
        return store_location(db)
    except ValueError as exc:
        raise CoreError.one("command line", "--db", db, str(exc)) from None


SERVE_OPTIONS = {                    # settings key -> the option of `collector serve` that overrides it
    "db": "--db", "host": "--host", "port": "--port", "tls_cert": "--tls-cert", "tls_key": "--tls-key",
    "ingest.probe_config": "--probe-config", "ingest.max_clock_offset_seconds": "--max-clock-offset",
    "registry": "--registry", "policy": "--policy", "max_age_seconds": "--max-age",
    "snmp_targets": "--snmp-targets", "snmp_interval_seconds": "--snmp-interval", "ingest_workers": "--ingest-workers",
    "ingest.ndt7_signing_key": "--ndt7-signing-key",
}


def _default(key: str) -> str:
    """' (default: X)' from the settings model, so a default is written once."""
    if key == "ingest_workers":
        return " (default: one per core, up to 4)"
    section, _, name = key.rpartition(".")
    model = CollectorSettings.model_fields[section].default if section else CollectorSettings
    value = getattr(model, name) if section else CollectorSettings.model_fields[name].default
    return "" if value is None else f" (default: {value})"


@app.command()
@refuses_bad_input
def serve(
    config: Path = typer.Option(None, "--config", help="Settings file (YAML); see deploy/collector.example.yaml. "
                                "Options given here override it."),
    db: str = typer.Option(None, "--db", help=DB_HELP + _default("db")),
    host: str = typer.Option(None, "--host", help="Address to listen on (0.0.0.0 for all)." + _default("host")),
    port: int = typer.Option(None, "--port", help="TCP port; 0 picks a free one." + _default("port")),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="PEM certificate: serve https://."),
    tls_key: Path = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    probe_config: Path = typer.Option(None, "--probe-config", help="YAML sections served to probes (jobs, "
                                      "throughput, modules, upload); its hash is the config version."),
    max_clock_offset: float = typer.Option(None, "--max-clock-offset", help="Seconds of probe clock error beyond "
                                           "which results are kept but quarantined."
                                           + _default("ingest.max_clock_offset_seconds")),
    registry: Path = typer.Option(None, "--registry", help="School registry (CSV/Parquet): enables /metrics of "
                                  "every school and refuses schools not in it."),
    policy: str = typer.Option(None, "--policy", help="Norms policy for the verdicts: a shipped name or a file."
                               + _default("policy")),
    max_age: float = typer.Option(None, "--max-age", help="Seconds after which a school's latest values are "
                                  "no longer exported (silence shows)." + _default("max_age_seconds")),
    snmp_targets: Path = typer.Option(None, "--snmp-targets", help="SNMP targets file: poll operator nodes and "
                                      "managed school CPEs from here; /metrics shows them, school uplinks are stored."),
    snmp_interval: float = typer.Option(None, "--snmp-interval", help="Seconds between SNMP sweeps."
                                        + _default("snmp_interval_seconds")),
    ingest_workers: int = typer.Option(None, "--ingest-workers", help="Processes that validate and store batches; "
                                       "0 stores in the API process." + _default("ingest_workers")),
    ndt7_signing_key: Path = typer.Option(None, "--ndt7-signing-key", help="Ed25519 private key (PEM, from "
                                          "`mektepnet ndt7 keygen`): issue ndt7 access tokens to enrolled probes."),
) -> None:
    """Serve the ingest API (OpenAPI at /docs) for school probes.

    Example: mektepnet collector serve --config /etc/mektepnet/collector.yaml --port 8443
    """
    given = dict(zip(SERVE_OPTIONS, (db, host, port, tls_cert, tls_key, probe_config, max_clock_offset, registry,
                                     policy, max_age, snmp_targets, snmp_interval, ingest_workers,
                                     ndt7_signing_key)))
    settings = load_settings(config, {key: value for key, value in given.items() if value is not None},
                             SERVE_OPTIONS)
    try:
        asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        where = ("command line", "--port") if port is not None or config is None else (str(config), "port")
        raise CoreError.one(*where, settings.port,
                            f"cannot listen on {settings.host}:{settings.port}: {exc}") from None


async def _serve(settings: CollectorSettings) -> None:
    collector = await start(settings)
    console.print(f"collector listening on {collector.url} (metrics {collector.metrics_url}, store "
                  f"{redacted(settings.db)}, {collector.ingest_workers or 'no'} ingest workers)", highlight=False)
    await collector.wait()


@app.command("enroll-code")
@refuses_bad_input
def enroll_code(
    school_id: str = typer.Option(..., "--school-id", help="The school the probe will belong to."),
    db: str = typer.Option(DEFAULT_DB, "--db", help=DB_HELP),
    valid_days: float = typer.Option(14, "--valid-days", help="Days before the code expires."),
) -> None:
    """Issue a one-time enrolment code for a school's probe (stored hashed; shown once).

    Example: mektepnet collector enroll-code --school-id KZ-ALM-0042 --db collector.sqlite3
    """
    import re

    if not re.fullmatch(SCHOOL_ID_PATTERN, school_id):
        raise CoreError.one("command line", "--school-id", school_id, f"must match {SCHOOL_ID_PATTERN}")
    if valid_days <= 0:
        raise CoreError.one("command line", "--valid-days", valid_days, "must be positive")
    store = Store(_store_at(db))
    try:
        print(enrolment.issue_code(store, school_id, valid_days * 86400))
    finally:
        store.close()


@app.command("probes")
@refuses_bad_input
def probes(db: str = typer.Option(DEFAULT_DB, "--db", help=DB_HELP)) -> None:
    """List enrolled probes, their token expiry and when they were last seen.

    Example: mektepnet collector probes --db collector.sqlite3
    """
    store = Store(_store_at(db))
    try:
        table = Table("probe", "school", "token expires", "revoked", "last seen")
        for probe in store.probes():
            table.add_row(probe.probe_id, probe.school_id, _when(probe.token_expires_at), _when(probe.revoked_at),
                          _when(probe.last_seen_at))
        console.print(table)
    finally:
        store.close()


@app.command("revoke")
@refuses_bad_input
def revoke(probe_id: str = typer.Argument(..., help="The probe whose token to revoke."),
           db: str = typer.Option(DEFAULT_DB, "--db", help=DB_HELP)) -> None:
    """Revoke a probe's token at once (the probe must enrol again).

    Example: mektepnet collector revoke p-kz-alm-0042-1a2b3c --db collector.sqlite3
    """
    store = Store(_store_at(db))
    try:
        if not store.revoke(probe_id, datetime.now(timezone.utc).timestamp()):
            raise CoreError.one("command line", "probe_id", probe_id, "no such probe")
        console.print(f"revoked {probe_id}")
    finally:
        store.close()


def _when(timestamp: float | None) -> str:
    return "-" if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M")


@app.command()
@refuses_bad_input
def backup(db: str = typer.Option(..., "--db", help=DB_HELP),
           to: Path = typer.Option(..., "--to", help="The backup file to write (must not exist).")) -> None:
    """Back up the store: a consistent SQLite copy while the collector runs, or a pg_dump of PostgreSQL.

    Example: mektepnet collector backup --db /var/lib/mektepnet/collector.sqlite3 --to /backup/collector-2026-11-22.sqlite3
    """
    from collectors.backup import backup as take

    console.print(f"backed up to {take(_store_at(db), to)}")


@app.command()
@refuses_bad_input
def restore(source: Path = typer.Option(..., "--from", help="A file written by `collector backup`."),
            db: str = typer.Option(..., "--db", help=DB_HELP)) -> None:
    """Restore the store from a backup, replacing what it holds (stop the collector first).

    Example: mektepnet collector restore --from /backup/collector-2026-11-22.sqlite3 --db /var/lib/mektepnet/collector.sqlite3
    """
    from collectors.backup import restore as put_back

    put_back(source, _store_at(db))
    console.print(f"restored {db} from {source}")
