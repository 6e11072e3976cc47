import json
import re

import pytest

from core import __version__
from tests.helpers.cli import FIXTURES, run_cli

SUB_COMMANDS = {
    "registry": ["generate", "validate", "summary"],
    "calendar": ["days", "validate"],
    "norms": ["show", "check"],
    "ndt7": ["serve", "test"],
    "loadtest": ["run", "plan", "worker", "readiness"],
    "platform-sim": ["serve", "capacity"],
    "demo": [],
}


def test_help_lists_every_sub_command_and_version_prints():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in SUB_COMMANDS:
        assert re.search(rf"\b{name}\b", result.stdout)
    assert run_cli("--version").stdout.strip() == f"mektepnet {__version__}"


@pytest.mark.parametrize("command", [[group, sub] if sub else [group]
                                     for group, subs in SUB_COMMANDS.items() for sub in (subs or [None])])
def test_every_command_has_help_with_an_example(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "Example: mektepnet" in result.stdout


def test_norms_check_against_every_shipped_policy(tmp_path):
    from datetime import date

    from core.examples import LinkQuality, example_measurements
    from core.measurement import write_measurements
    from core.registry import load_registry
    from core.school_calendar import SchoolCalendar

    schools = load_registry(FIXTURES / "registry" / "valid.csv")
    calendar = SchoolCalendar.load()
    records = (example_measurements(schools["KZ-002"], LinkQuality(7.5e6, 2e6), calendar, date(2026, 11, 23), 6)
               + example_measurements(schools["KZ-003"], LinkQuality(3e6, 1e6), calendar, date(2026, 11, 23), 1))
    write_measurements(tmp_path / "week.jsonl", records)
    result = run_cli("norms", "check", "--registry", FIXTURES / "registry" / "valid.csv",
                     "--measurements", tmp_path / "week.jsonl", "--json")
    assert result.returncode == 0, result.stderr

    verdicts = {(v["policy"], v["school_id"]): v["status"] for v in json.loads(result.stdout)}
    assert verdicts == {
        ("ministry", "KZ-002"): "meets", ("giga-2030", "KZ-002"): "below", ("equal-norms", "KZ-002"): "below",
        ("ministry", "KZ-003"): "no data", ("giga-2030", "KZ-003"): "no data", ("equal-norms", "KZ-003"): "no data",
    }


@pytest.mark.parametrize("args, field", [
    (["--measurements", "absent.jsonl"], "path='absent.jsonl'"),
    (["--measurements", FIXTURES / "measurements" / "unknown_school.jsonl"], "school_id='KZ-999'"),
    (["--measurements", FIXTURES / "measurements" / "bad_value.jsonl"], "(record)"),
    (["--measurements", FIXTURES / "measurements" / "one.jsonl", "--from", "23/11/2026"], "--from='23/11/2026'"),
    (["--measurements", FIXTURES / "measurements" / "one.jsonl", "--policy", "strict"], "policy='strict'"),
])
def test_norms_check_refuses_bad_input_with_exit_2(args, field):
    result = run_cli("norms", "check", "--registry", FIXTURES / "registry" / "valid.csv", *args)
    assert result.returncode == 2, result.stdout
    assert field in result.stderr or "values.throughput_bps" in result.stderr


def test_registry_generate_refuses_a_bad_output_name(tmp_path):
    result = run_cli("registry", "generate", "--schools", 10, "--out", tmp_path / "r.xlsx")
    assert result.returncode == 2
    assert "--out=" in result.stderr and "must end in .csv or .parquet" in result.stderr


def test_the_demo_refuses_bad_options_naming_them(tmp_path):
    # the demo's artifacts are checked end to end in tests/cli/test_demo.py
    for option, value in (("--days", "0"), ("--schools", "3"), ("--lang", "de")):
        result = run_cli("demo", "--out", tmp_path / "demo", option, value)
        assert result.returncode == 2 and option in result.stderr and value in result.stderr
