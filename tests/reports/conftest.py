"""A small simulated fleet (30 schools, a week and the week before) in a real store, and its report in three languages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from collectors.fleet_upload import into_store
from core.norms import load_policy
from collectors.simulator import LEAN, FleetSimulator
from collectors.store import Store
from core.registry import Registry
from core.synthetic import generate_registry
from reports.analysis import Analysis
from reports.build import ReportRequest, analyse_store, write_report
from reports.i18n import Language

FIRST, LAST = date(2027, 3, 1), date(2027, 3, 7)       # a week; the simulated history starts a week earlier


@dataclass(frozen=True)
class Fleet:
    """The simulated store and the registry it was made from."""

    db: Path
    registry_path: Path
    registry: Registry


@dataclass(frozen=True)
class Written:
    """A report written in one language: its analysis and files."""

    analysis: Analysis
    html: Path
    pdf: Path
    xlsx: Path


@pytest.fixture(scope="session")
def fleet(tmp_path_factory, calendar) -> Fleet:
    """Thirty synthetic schools, fourteen days of simulated history, rolled up in a SQLite store."""
    folder = tmp_path_factory.mktemp("fleet")
    registry = generate_registry(30, 3)
    registry.save(folder / "registry.csv")
    store = Store(folder / "store.sqlite3")
    try:
        into_store(FleetSimulator(registry, calendar, 3, LEAN), store, date(2027, 2, 22), 14, [load_policy("ministry")])
    finally:
        store.close()
    return Fleet(folder / "store.sqlite3", folder / "registry.csv", registry)


def request(fleet: Fleet, out: Path, language: Language, **changes) -> ReportRequest:
    """The report of the fleet's last week in `language`, written to `out`."""
    return ReportRequest(str(fleet.db), fleet.registry_path, FIRST, LAST, out, language=language, **changes)


@pytest.fixture(scope="session")
def analysis(fleet, tmp_path_factory) -> Analysis:
    """The fleet's analysis (the store read once)."""
    return analyse_store(request(fleet, tmp_path_factory.mktemp("unused"), Language.RU))


@pytest.fixture(scope="session")
def written(fleet, analysis, tmp_path_factory) -> dict[str, Written]:
    """The report in ru, kk and en, every format."""
    reports = {}
    for language in Language:
        out = tmp_path_factory.mktemp(f"report-{language.value}")
        html, pdf, xlsx = write_report(request(fleet, out, language), analysis, written=date(2027, 3, 9))
        reports[language.value] = Written(analysis, html, pdf, xlsx)
    return reports
