"""The `mektepnet` command: one typer app composed of one sub-app per area."""

from __future__ import annotations

import typer

from cli import calendar, demo, ndt7, norms, registry
from core import __version__

app = typer.Typer(
    name="mektepnet",
    no_args_is_help=True,
    help="MektepNet: school internet and education-platform readiness for Kazakhstan.\n\n"
         "Example: mektepnet demo",
)
app.add_typer(registry.app, name="registry")
app.add_typer(calendar.app, name="calendar")
app.add_typer(norms.app, name="norms")
app.add_typer(ndt7.app, name="ndt7")
app.command("demo")(demo.demo)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mektepnet {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """MektepNet: school internet and education-platform readiness for Kazakhstan."""


def run() -> None:
    """Console-script entry point."""
    app()
