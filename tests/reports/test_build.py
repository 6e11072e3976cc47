"""The report of a simulated week: its headline numbers are the store's, recomputed here from the store itself."""

from __future__ import annotations

import statistics
from datetime import date

import pytest

from collectors.store import Store
from tests.helpers.cli import run_cli
from tests.reports.conftest import FIRST, LAST


def test_headline_numbers_match_the_store(fleet, analysis, calendar) -> None:
    store = Store(fleet.db)
    try:                                    # the measured download rests on each school's own school days
        days = {s.school_id: [figures[4] for (day, kind), figures in store.daily(s.school_id).items()
                              if kind == "download" and FIRST.isoformat() <= day <= LAST.isoformat()
                              and calendar.is_school_day(date.fromisoformat(day), s.week_days)
                              and figures[4] is not None] for s in fleet.registry}
    finally:
        store.close()
    measured = {school_id: statistics.median(values) for school_id, values in days.items() if values}
    figures = analysis.figures.set_index("school_id")
    assert analysis.coverage.loc["all", "schools_measured"] == len(measured)
    assert analysis.coverage.loc["all", "schools_silent"] == sum(1 for s in fleet.registry
                                                                 if s.school_id not in measured and s.contracted_bps > 0)
    for school_id, value in measured.items():
        assert figures.loc[school_id, "measured_download_bps"] == pytest.approx(value)
    rural = [measured[s.school_id] for s in fleet.registry if s.locality.value == "rural" and s.school_id in measured]
    assert analysis.gap.rural_download_bps == pytest.approx(statistics.median(rural))
    judged = analysis.compliance.set_index("policy").loc["ministry"]
    assert judged["schools_meeting"] + judged["schools_below"] + judged["schools_no_data"] == len(fleet.registry)
    assert judged["schools_meeting"] > 0 and judged["schools_below"] > 0
    assert analysis.change is not None and analysis.change.schools > 0


def test_summary_states_the_headline_numbers(written, analysis) -> None:
    html = written["ru"].html.read_text(encoding="utf-8")
    measured = int(analysis.coverage.loc["all", "schools_measured"])
    assert f"измерены {measured} школ" in html or f"измерено {measured} школ" in html or \
        f"измерена {measured} школа" in html
    assert html.index("Главные выводы") < html.index("Методы и определения")


def test_bad_input_is_one_line_and_exit_2(fleet, tmp_path) -> None:
    base = ["report", "inequality", "--db", fleet.db, "--registry", fleet.registry_path, "--out", tmp_path]
    other = tmp_path / "other.csv"
    from core.synthetic import generate_registry

    generate_registry(5, 9).save(other)
    cases = {
        "--to": [*base, "--from", "2027-03-07", "--to", "2027-03-01"],
        "no download measurement": [*base, "--from", "2027-06-01", "--to", "2027-06-07"],
        "policy": [*base, "--from", "2027-03-01", "--to", "2027-03-07", "--policy", "no-such-policy"],
        "not in the registry": ["report", "inequality", "--db", fleet.db, "--registry", other, "--out", tmp_path,
                                "--from", "2027-03-01", "--to", "2027-03-07"],
    }
    for expected, args in cases.items():
        result = run_cli(*args)
        assert result.returncode == 2, (expected, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr


def test_help_has_an_example() -> None:
    result = run_cli("report", "inequality", "--help")
    assert result.returncode == 0 and "Example: mektepnet report inequality" in result.stdout
