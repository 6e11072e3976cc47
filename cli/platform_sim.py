"""`mektepnet platform-sim`: a local stand-in for the education platforms, with a declared capacity."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import console, refuses_bad_input
from core.errors import CoreError

app = typer.Typer(no_args_is_help=True, help="The platform simulator: the profile's endpoints with a capacity model.")

PROFILE = typer.Option(None, "--profile", help="Platform profile (YAML); default: the embedded local profile.")
QUARTER_END = typer.Option(False, "--quarter-end", help="Slow the endpoints with a quarter_end_factor by that factor.")


@app.command()
@refuses_bad_input
def serve(
    profile: Path = PROFILE,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8780, "--port", help="Port to listen on."),
    quarter_end: bool = QUARTER_END,
    seed: int = typer.Option(1, "--seed", help="Random seed of the service times."),
) -> None:
    """Serve every endpoint of the profile: per endpoint a bounded pool of workers, a bounded queue
    (503 + Retry-After beyond it) and a log-normal service time spent waiting; /metrics shows queues.

    Example: mektepnet platform-sim serve --port 8780 --quarter-end
    """
    from loadtests.profile import load_profile
    from loadtests.serving import SimulatorConfig, bind
    from loadtests.serving import serve as run_server

    if not 1 <= port <= 65535:
        raise CoreError.one("command line", "--port", port, "must be 1 to 65535")
    config = SimulatorConfig(load_profile(profile), host, port, quarter_end, seed)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise CoreError.one("command line", "--port", port, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    console.print(f"platform simulator for {config.profile.name!r} on http://{host}:{port} "
                  f"({'quarter end' if quarter_end else 'ordinary day'}); /metrics, /healthz")
    run_server(config, sock)


@app.command()
@refuses_bad_input
def capacity(profile: Path = PROFILE, quarter_end: bool = QUARTER_END) -> None:
    """Print what each endpoint of the simulator sustains: workers, queue, requests/s (workers / mean service).

    Example: mektepnet platform-sim capacity --quarter-end
    """
    from rich.table import Table

    from loadtests.profile import load_profile
    from loadtests.simulator import capacity_table

    table = Table(title="simulator capacity" + (" at quarter end" if quarter_end else ""))
    for column in ("platform", "endpoint", "workers", "queue", "requests/s"):
        table.add_column(column, justify="left" if column in ("platform", "endpoint") else "right")
    for platform, endpoint, workers, queue, rate in capacity_table(load_profile(profile), quarter_end):
        table.add_row(platform, endpoint, str(workers), str(queue), f"{rate:,.0f}")
    console.print(table)
