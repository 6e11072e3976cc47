"""Run options: a YAML file (every key documented in deploy/loadtest.example.yaml), the command line on top."""

import pytest

from loadtests.options import RunOptions, run_options
from loadtests.profile import PlatformKind
from tests.helpers.cli import ROOT, run_cli

EXAMPLE = ROOT / "deploy" / "loadtest.example.yaml"


def test_the_example_file_documents_every_key_with_its_default():
    text = EXAMPLE.read_text()
    assert all(f"\n{key}:" in text for key in RunOptions.model_fields)
    assert run_options(EXAMPLE) == RunOptions()


def test_the_command_line_overrides_the_file(tmp_path):
    options_file = tmp_path / "run.yaml"
    options_file.write_text("shape: steady\nduration_seconds: 90s\nstudents: 300\nkinds: [video]\nworkers: 0\n")
    options = run_options(options_file, {"students": 40, "scale": None, "duration_seconds": "2m"})
    assert (options.shape, options.students, options.duration_seconds) == ("steady", 40, 120.0)
    assert options.kinds == frozenset({PlatformKind.VIDEO}) and options.workers == 0


def test_plan_reads_the_file_and_the_command_line_wins(tmp_path):
    options_file = tmp_path / "run.yaml"
    options_file.write_text("shape: second-shift\nduration_seconds: 20m\nstudents: 5000\n")
    result = run_cli("loadtest", "plan", "--options", options_file, "--students", 800)
    assert result.returncode == 0, result.stderr
    assert "second shift" in result.stdout and "students 800 in groups" in result.stdout
    assert "laid on 1200 s" in result.stdout


@pytest.mark.parametrize("content, named", [
    ("colour: blue\n", "colour='blue'"),
    ("workers: many\n", "workers='many'"),
    ("duration_seconds: 2s\n", "duration_seconds='2s'"),
    ("shape: lunch\n", "shape='lunch'"),
    ("kinds: radio\n", "kinds='radio'"),
])
def test_a_bad_key_or_value_in_the_file_is_refused_in_one_line_naming_it(tmp_path, content, named):
    options_file = tmp_path / "run.yaml"
    options_file.write_text(content)
    result = run_cli("loadtest", "run", "--headless", "--options", options_file, "--run-dir", tmp_path / "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(options_file) in lines[0] and named in lines[0]
    assert not (tmp_path / "run").exists()


def test_a_bad_override_is_named_by_its_option_not_by_the_file(tmp_path):
    options_file = tmp_path / "run.yaml"
    options_file.write_text("workers: 3\n")
    result = run_cli("loadtest", "run", "--headless", "--options", options_file, "--users-per-worker", 0,
                     "--run-dir", tmp_path / "run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: command line: --users-per-worker=0: Input should be greater than or equal to 1"]


def test_a_missing_options_file_is_refused(tmp_path):
    result = run_cli("loadtest", "plan", "--options", tmp_path / "nothing.yaml")
    assert result.returncode == 2 and "nothing.yaml" in result.stderr and "no such file" in result.stderr
