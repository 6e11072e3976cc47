"""`mektepnet probe`: the school agent — enrol it, run it, run every prober once, see its state."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime, timezone
from pathlib import Path

import typer

from cli.common import console, refuses_bad_input
from core.errors import CoreError
from core.measurement import Measurement
from core.units import format_bit_rate, format_duration
from probes.agent import outbox_path, run_agent, run_once
from probes.config import load_config
from probes.identity import enroll as enroll_probe, load_credentials
from probes.outbox import Outbox
from probes.status import AgentStatus, read_status

app = typer.Typer(no_args_is_help=True, help="The school probe agent.")

CONFIG_HELP = "Probe configuration (YAML); see deploy/probe.example.yaml."


@app.command()
@refuses_bad_input
def enroll(
    collector: str = typer.Option(..., "--collector", help="Collector base URL (https://...)."),
    school_id: str = typer.Option(..., "--school-id", help="This school's id in the registry."),
    enrollment_code: str = typer.Option(..., "--enrollment-code", help="One-time code from the ministry."),
    state_dir: Path = typer.Option(Path("/var/lib/mektepnet-probe"), "--state-dir", help="Where the credential goes."),
    ca_file: Path = typer.Option(None, "--ca-file", help="CA bundle that signed the collector's certificate."),
) -> None:
    """Enrol this probe: trade the one-time code for a per-probe credential, stored in --state-dir.

    Example: mektepnet probe enroll --collector https://collector.edu.kz --school-id KZ-ALM-0042 --enrollment-code KQ4T-M2ZP-7XWA-RB3D
    """
    from probes.config import ProbeConfig

    ProbeConfig(collector=collector, school_id=school_id)        # the same checks as the agent's file
    credentials = asyncio.run(enroll_probe(collector.rstrip("/"), school_id, enrollment_code, state_dir, ca_file))
    console.print(f"enrolled as probe [bold]{credentials.probe_id}[/bold] of {credentials.school_id}; "
                  f"token valid until {credentials.expires_at:%Y-%m-%d}; credential in {state_dir}")


@app.command()
@refuses_bad_input
def once(
    config: Path = typer.Option(..., "--config", help=CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the Measurement records as JSON."),
    throughput: bool = typer.Option(True, "--throughput/--no-throughput", help="Include one ndt7 test."),
) -> None:
    """Run every configured prober once on each of its targets and print the results (nothing is uploaded).

    Example: mektepnet probe once --config /etc/mektepnet/probe.yaml --no-throughput
    """
    settings = load_config(config)
    credentials = load_credentials(settings.state_dir)
    results = asyncio.run(run_once(settings, credentials.probe_id if credentials else "local", throughput))
    if as_json:
        print(json.dumps([record.model_dump(mode="json") for record in results], indent=2))
        return
    console.print(results_table(results))


@app.command()
@refuses_bad_input
def run(config: Path = typer.Option(..., "--config", help=CONFIG_HELP)) -> None:
    """Run the agent: measure on schedule, keep every result in the outbox, upload it (stops on SIGTERM; SIGHUP
    looks for a new configuration or agent version at once).

    Example: mektepnet probe run --config /etc/mektepnet/probe.yaml
    """
    settings = load_config(config)
    credentials = load_credentials(settings.state_dir)
    if credentials is None:
        raise CoreError.one(config, "state_dir", str(settings.state_dir),
                            "no credential there: run 'mektepnet probe enroll' first")
    if credentials.school_id != settings.school_id:
        raise CoreError.one(config, "school_id", settings.school_id,
                            f"the credential in {settings.state_dir} belongs to {credentials.school_id}")

    async def main() -> int:
        stop, check_now = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        loop.add_signal_handler(signal.SIGHUP, check_now.set)
        return await run_agent(settings, credentials, stop, announce=lambda text: print(text, flush=True),
                               check_now=check_now)

    if code := asyncio.run(main()):
        raise typer.Exit(code)          # 75: the agent switched versions; the launcher starts the new one


@app.command()
@refuses_bad_input
def status(config: Path = typer.Option(..., "--config", help=CONFIG_HELP),
           as_json: bool = typer.Option(False, "--json", help="Print the snapshot as JSON.")) -> None:
    """Summarise the agent's state: identity, fleet version and configuration, outbox, uploads, clock, data used,
    latest results.

    Example: mektepnet probe status --config /etc/mektepnet/probe.yaml
    """
    settings = load_config(config)
    path = outbox_path(settings.state_dir)
    if not path.exists():
        raise CoreError.one(config, "state_dir", str(settings.state_dir), "no outbox there: the agent never ran")
    outbox = Outbox(path, read_only=True)
    try:
        pending, aside = outbox.depth()
        snapshot = read_status(outbox)
        age = outbox.oldest_pending_age_seconds()
        reasons = outbox.set_aside_reasons(5)
    finally:
        outbox.close()
    if as_json:
        written = snapshot.model_dump(mode="json") if snapshot is not None else {}
        print(json.dumps({"pending": pending, "set_aside": aside, "oldest_pending_seconds": age,
                          "set_aside_reasons": reasons, **written}, indent=2))
        return
    console.print(status_text(snapshot, pending, aside, age, reasons))
    if snapshot is not None and snapshot.last:
        from rich.table import Table

        table = Table("kind", "target", "ended", "method", "result")
        for item in snapshot.last:
            table.add_row(item.kind.value, item.target, item.end.strftime("%Y-%m-%dT%H:%M:%S"), item.method,
                          f"[red]{item.error}[/red]" if item.error else _summary(item.kind.value, item.values))
        console.print(table)


def status_text(snapshot: AgentStatus | None, pending: int, aside: int, age: float | None, reasons: list) -> str:
    """The human summary above the results table."""
    outbox = (f"outbox: {pending} pending" + (f" (oldest {format_duration(age)})" if age is not None else "")
              + f", {aside} set aside")
    lines = [outbox] if snapshot is None else _agent_lines(snapshot, outbox)
    lines += [f"[yellow]set aside[/yellow] {measurement_id}: {reason}" for measurement_id, reason in reasons]
    return "\n".join(lines)


def _agent_lines(snapshot: AgentStatus, outbox: str) -> list[str]:
    def when(timestamp):
        return "never" if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC")

    offset = snapshot.clock_offset_seconds
    ntp = {True: "NTP synchronised", False: "NTP not synchronised"}.get(snapshot.ntp_synchronised, "NTP unknown")
    lines = [
        f"probe [bold]{snapshot.probe_id}[/bold] of {snapshot.school_id}, version {snapshot.version}, "
        f"config {snapshot.config_hash} (collector version {snapshot.config_version or '-'})",
        f"status written {when(snapshot.written_at)}; agent started {when(snapshot.started_at)} "
        f"(start {snapshot.agent_starts})",
        outbox,
        f"uploads: {snapshot.uploaded}; failures {snapshot.upload_failures}; "
        f"last success {when(snapshot.last_upload_at)}",
        "clock: " + ("unknown" if offset is None else f"offset {offset:+.3f} s") + f" ({snapshot.clock_source}; {ntp})",
        f"data used today: {snapshot.data_used_bytes / 1e6:.1f} MB of {snapshot.data_budget_bytes / 1e6:.0f} MB",
    ]
    if snapshot.config_group or snapshot.previous_version or snapshot.on_trial:
        lines.insert(2, f"fleet: version {snapshot.version}" + (" on trial" if snapshot.on_trial else "")
                     + f", previous {snapshot.previous_version or '-'}; "
                     f"configuration group {snapshot.config_group or '-'}")
    if snapshot.config_error:
        lines.append(f"[red]{snapshot.config_error}[/red]")
    if snapshot.fleet_refusal:
        lines.append(f"[red]fleet update refused ({snapshot.fleet_refusal})[/red]")
    return lines


def results_table(results: list[Measurement]):
    """One row per record (a rich Table): kind, target, method and the main figures or the error."""
    from rich.table import Table

    table = Table("kind", "target", "method", "result")
    for record in results:
        shown = f"[red]{record.error}[/red]" if record.error else _summary(record.kind.value, record.values)
        table.add_row(record.kind.value, record.target, record.method, shown)
    return table


def _summary(kind: str, values: dict[str, float]) -> str:
    def seconds(name):
        return f"{values[name] * 1000:.1f} ms" if name in values else "-"

    if kind == "latency":
        return (f"rtt {seconds('rtt_median_seconds')} (min {seconds('rtt_min_seconds')}, p95 "
                f"{seconds('rtt_p95_seconds')}), jitter {seconds('jitter_seconds')}, "
                f"loss {values.get('loss_ratio', 0):.0%}")
    if kind == "dns":
        return f"{seconds('resolution_seconds')}"
    if kind == "http":
        return f"HTTP {values.get('status_code', 0):.0f} in {seconds('total_seconds')}, {values.get('body_bytes', 0):.0f} B"
    if kind in ("download", "upload"):
        return format_bit_rate(values.get("throughput_bps", 0))
    return ", ".join(f"{name}={value:g}" for name, value in values.items())
