"""External programs the tests use for real (promtool, snmpd ...): skipped on a bare laptop, required in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> str:
    """The tool's path; skip the test if it is missing, but fail under CI, where setup must install it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/setup.sh --test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def single_problem(load, path):
    """Call `load(path)`, expect a CoreError with exactly one problem, and return that problem."""
    from core.errors import CoreError

    with pytest.raises(CoreError) as caught:
        load(path)
    [problem] = caught.value.problems
    return problem
