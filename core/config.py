"""Loading YAML configuration files into validated pydantic models, with located errors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import CoreError, problems_from_pydantic

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: str | Path, model: type[Model]) -> Model:
    """Read a YAML file and validate it as `model`; raise CoreError naming each bad field and value."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CoreError.one(path, "path", str(path), "no such file") from None
    except UnicodeDecodeError as exc:
        raise CoreError.one(path, "encoding", exc.reason, "the file is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CoreError.one(path, "(yaml)", None, f"not valid YAML: {getattr(exc, 'problem', exc)}", line) from None
    if not isinstance(data, dict):
        raise CoreError.one(path, "(document)", type(data).__name__, "expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, path)) from None
