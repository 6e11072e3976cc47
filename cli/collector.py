"""`mektepnet collector`: the centre's ingest API, enrolment codes and probe tokens."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, refuses_bad_input
from collectors import enrolment
from collectors.api import IngestSettings, config_document
from collectors.ingest import default_workers
from collectors.server import CollectorConfig, serve as serve_collector
from collectors.store import MAX_TRUSTED_OFFSET_SECONDS, Store
from core.errors import CoreError
from core.school import SCHOOL_ID_PATTERN

app = typer.Typer(no_args_is_help=True, help="The centre: ingest API, enrolment, probe tokens.")

DB_HELP = "The store: a SQLite file (created if absent) or a postgresql://user@host/db URL."


@app.command()
@refuses_bad_input
def serve(
    db: str = typer.Option("mektepnet.sqlite3", "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8443, "--port", help="TCP port; 0 picks a free one."),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="PEM certificate: serve https://."),
    tls_key: Path = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    probe_config: Path = typer.Option(None, "--probe-config", help="YAML sections served to probes (jobs, "
                                      "throughput, modules, upload); its hash is the config version."),
    max_clock_offset: float = typer.Option(120.0, "--max-clock-offset", help="Seconds of probe clock error "
                                           "beyond which results are kept but quarantined."),
    registry: Path = typer.Option(None, "--registry", help="School registry (CSV/Parquet): enables /metrics of "
                                  "every school and refuses schools not in it."),
    policy: str = typer.Option("ministry", "--policy", help="Norms policy for the verdicts: a shipped name or a file."),
    max_age: float = typer.Option(6 * 3600, "--max-age", help="Seconds after which a school's latest values are "
                                  "no longer exported (silence shows)."),
    snmp_targets: Path = typer.Option(None, "--snmp-targets", help="SNMP targets file: poll operator nodes and "
                                      "managed school CPEs from here; /metrics shows them, school uplinks are stored."),
    snmp_interval: float = typer.Option(60.0, "--snmp-interval", help="Seconds between SNMP sweeps."),
    ingest_workers: int = typer.Option(None, "--ingest-workers", help="Processes that validate and store batches "
                                       "(default: one per core, up to 4); 0 stores in the API process."),
    ndt7_signing_key: Path = typer.Option(None, "--ndt7-signing-key", help="Ed25519 private key (PEM, from "
                                          "`mektepnet ndt7 keygen`): issue ndt7 access tokens to enrolled probes."),
) -> None:
    """Serve the ingest API (OpenAPI at /docs) for school probes.

    Example: mektepnet collector serve --db /var/lib/mektepnet/collector.sqlite3 --registry registry.csv --policy ministry --host 0.0.0.0 --port 443 --tls-cert cert.pem --tls-key key.pem
    """
    if (tls_cert is None) != (tls_key is None):
        raise CoreError.one("command line", "--tls-key" if tls_cert else "--tls-cert", None,
                            "--tls-cert and --tls-key go together")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key), ("--probe-config", probe_config),
                         ("--registry", registry), ("--snmp-targets", snmp_targets),
                         ("--ndt7-signing-key", ndt7_signing_key)):
        if path is not None and not path.is_file():
            raise CoreError.one("command line", option, str(path), "no such file")
    for option, value in (("--max-clock-offset", max_clock_offset), ("--max-age", max_age)):
        if value <= 0:
            raise CoreError.one("command line", option, value, "must be positive seconds")
    if not 5 <= snmp_interval <= 3600:
        raise CoreError.one("command line", "--snmp-interval", snmp_interval, "must be 5 to 3600 seconds")
    if snmp_targets is not None:
        from probes.snmp.targets import load_targets

        load_targets(snmp_targets)                 # a bad file is refused before anything starts
    if max_clock_offset > MAX_TRUSTED_OFFSET_SECONDS:
        raise CoreError.one("command line", "--max-clock-offset", max_clock_offset,
                            f"at most {MAX_TRUSTED_OFFSET_SECONDS:g} s: a clock further off is never trusted")
    if ingest_workers is None:
        ingest_workers = default_workers()
    elif not 0 <= ingest_workers <= 64:
        raise CoreError.one("command line", "--ingest-workers", ingest_workers, "must be 0 to 64")
    config_document(probe_config)
    config = CollectorConfig(db=db, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key,
                             ingest=IngestSettings(max_clock_offset_seconds=max_clock_offset, probe_config=probe_config,
                                                   ndt7_signing_key=ndt7_signing_key),
                             registry=registry, policy=policy, max_age_seconds=max_age,
                             ingest_workers=ingest_workers, snmp_targets=snmp_targets,
                             snmp_interval_seconds=snmp_interval)
    try:
        asyncio.run(serve_collector(config, announce=lambda text: console.print(text, highlight=False)))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise CoreError.one("command line", "--port", port, f"cannot listen on {host}:{port}: {exc}") from None


@app.command("enroll-code")
@refuses_bad_input
def enroll_code(
    school_id: str = typer.Option(..., "--school-id", help="The school the probe will belong to."),
    db: str = typer.Option("mektepnet.sqlite3", "--db", help=DB_HELP),
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
    store = Store(db)
    try:
        print(enrolment.issue_code(store, school_id, valid_days * 86400))
    finally:
        store.close()


@app.command("probes")
@refuses_bad_input
def probes(db: str = typer.Option("mektepnet.sqlite3", "--db", help=DB_HELP)) -> None:
    """List enrolled probes, their token expiry and when they were last seen.

    Example: mektepnet collector probes --db collector.sqlite3
    """
    store = Store(db)
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
           db: str = typer.Option("mektepnet.sqlite3", "--db", help=DB_HELP)) -> None:
    """Revoke a probe's token at once (the probe must enrol again).

    Example: mektepnet collector revoke p-kz-alm-0042-1a2b3c --db collector.sqlite3
    """
    store = Store(db)
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

    console.print(f"backed up to {take(db, to)}")


@app.command()
@refuses_bad_input
def restore(source: Path = typer.Option(..., "--from", help="A file written by `collector backup`."),
            db: str = typer.Option(..., "--db", help=DB_HELP)) -> None:
    """Restore the store from a backup, replacing what it holds (stop the collector first).

    Example: mektepnet collector restore --from /backup/collector-2026-11-22.sqlite3 --db /var/lib/mektepnet/collector.sqlite3
    """
    from collectors.backup import restore as put_back

    put_back(source, db)
    console.print(f"restored {db} from {source}")
