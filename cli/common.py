"""What every sub-command shares: the consoles, and turning bad input into one line per problem and exit 2."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import typer

from core.errors import CoreError, Problem

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
    """Wrap a command so a CoreError prints each problem on its own line and exits with code 2; so does an
    OSError on a path that one of the command's options or arguments named (a file that cannot be written
    or read): one line naming the option and the path."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CoreError as exc:
            problems = exc.problems
        except OSError as exc:
            problem = _path_problem(exc, command, kwargs)
            if problem is None:
                raise
            problems = [problem]
        for problem in problems:
            err_console.print(f"[red]error:[/red] {problem}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def _path_problem(exc: OSError, command: Callable, values: dict) -> Problem | None:
    """The problem of a failed file operation on a path a parameter named (or above or under it), or None."""
    if exc.filename is None:
        return None
    failed = Path(os.fsdecode(exc.filename)).absolute()
    for name, parameter in inspect.signature(command).parameters.items():
        value = values.get(name)
        if not isinstance(value, (str, Path)) or not str(value) or "://" in str(value):
            continue
        named = Path(value).absolute()
        if failed == named or named in failed.parents or failed in named.parents:
            declared = getattr(parameter.default, "param_decls", None) or ()
            option = max(declared, key=len) if declared else name.upper()
            return Problem("command line", option, str(value), f"cannot use {failed}: {exc.strerror}")
    return None


def parse_day(value: str | None, option: str) -> date | None:
    """Parse an ISO date given on the command line; refuse anything else naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CoreError.one("command line", option, value, "must be a date YYYY-MM-DD (Asia/Almaty)") from None
