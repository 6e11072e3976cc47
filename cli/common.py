"""What every sub-command shares: the consoles, and turning bad input into one line per problem and exit 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import TypeVar

import typer

from core.errors import CoreError

EXIT_BAD_INPUT = 2


class _LazyConsole:
    """A rich Console made on first use: a long-running command that never prints a table never loads rich."""

    def __init__(self, stderr: bool, piped_width: int):
        self._stderr, self._piped_width, self._console = stderr, piped_width, None

    def real(self):
        """The rich Console itself (for APIs that take one, such as Progress)."""
        if self._console is None:
            from rich.console import Console

            # Piped output (files, CI logs) is not cut to 80 columns: tables stay readable.
            made = Console(stderr=self._stderr)
            self._console = made if made.is_terminal else Console(stderr=self._stderr, width=self._piped_width)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.real(), name)


console = _LazyConsole(stderr=False, piped_width=160)
err_console = _LazyConsole(stderr=True, piped_width=200)

Command = TypeVar("Command", bound=Callable)


def refuses_bad_input(command: Command) -> Command:
    """Wrap a command so a CoreError prints each problem on its own line and exits with code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CoreError as exc:
            for problem in exc.problems:
                err_console.print(f"[red]error:[/red] {problem}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def parse_day(value: str | None, option: str) -> date | None:
    """Parse an ISO date given on the command line; refuse anything else naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CoreError.one("command line", option, value, "must be a date YYYY-MM-DD (Asia/Almaty)") from None
