"""The `mektepnet` command: one typer app composed of one sub-app per area.

Every module of this package that defines `app` (a typer.Typer) becomes the sub-command of its name,
so an area adds a file and nothing else. `demo` is a single command of its own. Only the area named
on the command line is imported (all of them for the top-level help): a school probe running
`mektepnet probe run` never loads the collector's web framework or pandas.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

import cli
from core import __version__

NOT_AREAS = {"main", "common", "demo", "__main__"}


def areas() -> list[str]:
    """Names of the area modules, whether imported or not (the sub-command spells _ as -: platform_sim)."""
    return sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if m.name not in NOT_AREAS)


def command_name(area: str) -> str:
    """The sub-command of an area module."""
    return area.replace("_", "-")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mektepnet {__version__}")
        raise typer.Exit()


def build_app(only: str | None = None) -> typer.Typer:
    """The command with every area, or with only the area `only` when one is named."""
    app = typer.Typer(
        name="mektepnet",
        no_args_is_help=True,
        help="MektepNet: school internet and education-platform readiness for Kazakhstan.\n\n"
             "Example: mektepnet demo",
    )
    for name in [only] if only else areas():
        area = importlib.import_module(f"cli.{name}")
        if isinstance(getattr(area, "app", None), typer.Typer):
            app.add_typer(area.app, name=command_name(name))
    if only is None or only == "demo":
        from cli import demo

        app.command("demo")(demo.demo)

    @app.callback()
    def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")) -> None:
        """MektepNet: school internet and education-platform readiness for Kazakhstan."""

    return app


def run() -> None:
    """Console-script entry point."""
    requested = next((argument for argument in sys.argv[1:] if not argument.startswith("-")), None)
    by_command = {command_name(area): area for area in areas()}
    build_app(by_command.get(requested) or ("demo" if requested == "demo" else None))()
