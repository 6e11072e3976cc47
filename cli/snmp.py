"""`mektepnet snmp`: poll routers and uplinks over SNMP (IF-MIB counters, status, utilisation)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

import typer

from cli.common import console, refuses_bad_input
from core.errors import CoreError

app = typer.Typer(no_args_is_help=True, help="SNMP polling of school routers and operator uplinks.")

EXIT_UNREACHABLE = 1


@app.command()
@refuses_bad_input
def poll(
    targets: Path = typer.Option(..., "--targets", help="Targets file (YAML): devices, credentials, ports that "
                                 "matter; see deploy/snmp-targets.example.yaml."),
    once: bool = typer.Option(False, "--once", help="Two sweeps INTERVAL apart (a rate needs two readings), "
                              "print the second, exit."),
    interval: float = typer.Option(10.0, "--interval", help="Seconds between sweeps."),
    count: int = typer.Option(0, "--count", help="Stop after this many sweeps (0: until interrupted)."),
    registry: Path = typer.Option(None, "--registry", help="School registry: school uplinks are judged against "
                                  "their contracted bandwidth."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document per sweep instead of a table."),
    concurrency: int = typer.Option(64, "--concurrency", help="Devices asked at once."),
) -> None:
    """Poll every target: per interface status, bit rates, utilisation and error rates; which targets
    did not answer, and why. Exit code 1 when a target did not answer in the last sweep.

    Example: mektepnet snmp poll --targets deploy/snmp-targets.example.yaml --registry registry.csv --once
    """
    from probes.snmp.poller import Poller
    from probes.snmp.targets import load_targets

    if not 1.0 <= interval <= 3600:
        raise CoreError.one("command line", "--interval", interval, "must be 1 to 3600 seconds")
    if count < 0:
        raise CoreError.one("command line", "--count", count, "must not be negative")
    if concurrency < 1:
        raise CoreError.one("command line", "--concurrency", concurrency, "must be at least 1")
    document = load_targets(targets)
    contracts = {}
    if registry is not None:
        from core.registry import load_registry

        contracts = {school.school_id: school.contracted_bps for school in load_registry(registry)}
    sweeps = 2 if once else count

    async def main() -> bool:
        poller = Poller(document, contracts, concurrency)
        done, answered = 0, True
        while True:
            sweep = await poller.sweep()
            done += 1
            answered = not sweep.unreachable
            if not (once and done == 1):
                _show(sweep, as_json)
            if sweeps and done >= sweeps:
                return answered
            await asyncio.sleep(interval)

    try:
        all_answered = asyncio.run(main())
    except KeyboardInterrupt:
        return
    if not all_answered:
        raise typer.Exit(EXIT_UNREACHABLE)


def _show(sweep, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"seconds": round(sweep.seconds, 4), "results": [asdict(r) for r in sweep.results]}),
              flush=True)
        return
    from rich.table import Table

    table = Table("target", "school", "interface", "status", "in Mbit/s", "out Mbit/s", "in util", "out util",
                  "errors/s", title=f"SNMP sweep: {len(sweep.results)} targets in {sweep.seconds:.2f} s")
    for result in sweep.results:
        for port in result.interfaces:
            table.add_row(result.target, result.school_id or "-", port.name or port.descr or str(port.index),
                          "up" if port.oper_up else "down", _rate(port.in_bps), _rate(port.out_bps),
                          _ratio(port.in_utilisation_ratio), _ratio(port.out_utilisation_ratio),
                          _errors(port.in_errors_per_second, port.out_errors_per_second))
    console.print(table)
    for result in sweep.unreachable:
        console.print(f"[red]no answer[/red] {result.error}", highlight=False)


def _rate(bps: float | None) -> str:
    return "-" if bps is None else f"{bps / 1e6:.2f}"


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.0%}"


def _errors(incoming: float | None, outgoing: float | None) -> str:
    return "-" if incoming is None or outgoing is None else f"{incoming + outgoing:.2f}"
