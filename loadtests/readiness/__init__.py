"""Platform readiness: the highest arrival rate a platform sustains within its SLO, found by stepping the open model."""

from loadtests.readiness.finder import FinderSettings
from loadtests.readiness.result import Readiness, StepResult, StepStatus, Verdict, read_readiness, write_readiness
from loadtests.readiness.runner import Prepared, Request, find_readiness, prepare

__all__ = ["FinderSettings", "Prepared", "Readiness", "Request", "StepResult", "StepStatus", "Verdict",
           "find_readiness", "prepare", "read_readiness", "write_readiness"]
