"""The one exception type of `core`: bad input, with one located problem per line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file, row), which field, the value, and why."""

    source: str
    field: str
    value: object
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.row}" if self.row is not None else self.source
        if self.value is None and self.field.startswith("("):
            return f"{where}: {self.message}"
        shown = _shorten(repr(self.value)) if self.value is not None else "(missing)"
        return f"{where}: {self.field}={shown}: {self.message}"


class CoreError(ValueError):
    """Raised when a registry, calendar, policy or measurement file is refused.

    `problems` holds every problem found, not only the first, so a user fixes a file in one pass.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, source: str | Path, field: str, value: object, message: str, row: int | None = None) -> "CoreError":
        """Build an error holding a single problem."""
        return cls([Problem(str(source), field, value, message, row)])


def problems_from_pydantic(exc, source: str | Path, row: int | None = None, prefix: str = "") -> list[Problem]:
    """Turn a pydantic ValidationError into located problems (field path, offending value, message)."""
    problems = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "(record)"
        value = error.get("input")
        if isinstance(value, (dict, list)) and (error["type"] == "missing" or field == "(record)"):
            value = None
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        problems.append(Problem(str(source), prefix + field, value, message, row))
    return problems


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
