"""The `mektepnet` command: one typer app composed of one sub-app per area.

Every module of this package that defines `app` (a typer.Typer) becomes the sub-command of its name,
so an area adds a file and nothing else. `demo` is a single command of its own.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import cli
from cli import demo
from core import __version__

NOT_AREAS = {"main", "common", "demo", "__main__"}

app = typer.Typer(
    name="mektepnet",
    no_args_is_help=True,
    help="MektepNet: school internet and education-platform readiness for Kazakhstan.\n\n"
         "Example: mektepnet demo",
)
for _module in sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if m.name not in NOT_AREAS):
    _area = importlib.import_module(f"cli.{_module}")
    if isinstance(getattr(_area, "app", None), typer.Typer):
        app.add_typer(_area.app, name=_module)
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
