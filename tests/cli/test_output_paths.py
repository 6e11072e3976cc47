"""Paths given on the command line that cannot be used: one line naming the option and the path, exit 2."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run_cli


@pytest.mark.parametrize("args, option", [
    (["registry", "generate", "--schools", "10", "--out", "{missing}/x.csv"], "--out"),
    (["demo", "--out", "{missing}/x"], "--out"),
    (["collector", "enroll-code", "--school-id", "KZ-001", "--db", "{missing}/c.sqlite3"], "--db"),
    (["collector", "probes", "--db", "sqlite:///{missing}/c.sqlite3"], "--db"),
    (["collector", "serve", "--db", "{missing}/c.sqlite3"], "--db"),
], ids=["registry-generate", "demo", "enroll-code", "probes-sqlite-url", "serve"])
def test_an_output_path_under_a_missing_directory_is_refused_on_one_line(tmp_path, args, option):
    missing = tmp_path / "missing-dir"
    result = run_cli(*[arg.format(missing=missing) for arg in args])
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: command line: {option}=") and str(missing) in lines[0]
    assert not missing.exists()


def test_a_directory_that_cannot_be_written_is_named_too(tmp_path):
    occupied = tmp_path / "a-file"
    occupied.write_text("not a directory")
    result = run_cli("registry", "generate", "--schools", "10", "--out", occupied / "x.csv")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--out=" in result.stderr and f"{occupied / 'x.csv'}: Not a directory" in result.stderr


def test_the_store_may_be_named_by_a_sqlite_url(tmp_path):
    code = run_cli("collector", "enroll-code", "--school-id", "KZ-001", "--db", f"sqlite:///{tmp_path}/c.sqlite3")
    listed = run_cli("collector", "probes", "--db", f"sqlite:///{tmp_path}/c.sqlite3")
    assert code.returncode == 0 and len(code.stdout.strip()) == 19, code.stderr
    assert listed.returncode == 0 and (tmp_path / "c.sqlite3").is_file()
