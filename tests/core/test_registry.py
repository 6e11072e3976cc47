from pathlib import Path

import pytest

from core.errors import CoreError
from core.registry import load_registry
from core.school import Category
from tests.helpers.cli import FIXTURES, run_cli
from tests.helpers.tools import single_problem

BAD = FIXTURES / "registry"


def test_the_valid_fixture_loads_with_names_in_any_language(small_registry):
    assert [s.school_id for s in small_registry] == ["KZ-001", "KZ-002", "KZ-003"]
    assert small_registry["KZ-002"].region == "akmola"          # given in Russian
    assert small_registry["KZ-003"].region == "turkistan"       # given in Kazakh
    assert small_registry["KZ-002"].contracted_bps == 8e6       # given as "8 Mbit/s"
    assert [s.category for s in small_registry] == [Category.URBAN, Category.RURAL, Category.UNGRADED]
    assert not small_registry.synthetic


@pytest.mark.parametrize("fixture, row, field, value, message", [
    ("missing_column.csv", 1, "teachers", None, "required column is missing"),
    ("wrong_type.csv", 3, "students", "three hundred", "valid integer"),
    ("duplicate_id.csv", 4, "school_id", "KZ-001", "duplicate school id (first in row 2)"),
    ("unknown_region.csv", 3, "region", "Narnia", "unknown region"),
    ("negative_students.csv", 3, "students", "-42", "greater than or equal to 0"),
    ("outside_kazakhstan.csv", 3, "longitude", "83.76", "outside Kazakhstan"),
    ("shift_ends_before_start.csv", 3, "shifts", "13:30-08:30", "ends before it starts"),
    ("bandwidth_in_wrong_unit.csv", 3, "contracted_bps", "4", "implausibly low"),
])
def test_a_bad_registry_is_refused_naming_row_field_and_value(fixture, row, field, value, message):
    problem = single_problem(load_registry, BAD / fixture)
    assert (problem.row, problem.field, problem.value) == (row, field, value)
    assert message in problem.message
    assert problem.source.endswith(fixture)


def test_every_problem_is_reported_at_once(tmp_path: Path):
    lines = (BAD / "valid.csv").read_text().splitlines()
    lines[1] = lines[1].replace("2400,1300", "-1,1300").replace("51.13,71.43", "0,0")
    lines[2] = lines[2].replace("Акмолинская область", "Atlantis")
    (tmp_path / "many.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CoreError) as caught:
        load_registry(tmp_path / "many.csv")
    assert {(p.row, p.field) for p in caught.value.problems} == {(2, "students"), (2, "longitude"), (3, "region")}


def test_the_command_prints_one_line_per_problem_and_exits_2():
    result = run_cli("registry", "validate", BAD / "unknown_region.csv")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "unknown_region.csv:3: region='Narnia': unknown region" in line


def test_busiest_shift_cannot_exceed_students(tmp_path: Path):
    text = (BAD / "valid.csv").read_text().replace("320,320,40", "320,400,40")
    (tmp_path / "r.csv").write_text(text)
    with pytest.raises(CoreError, match="busiest_shift_students='400': exceeds students"):
        load_registry(tmp_path / "r.csv")


def test_csv_and_parquet_round_trip(small_registry, tmp_path: Path):
    for name in ("r.csv", "r.parquet"):
        small_registry.save(tmp_path / name)
        again = load_registry(tmp_path / name)
        assert again.schools == small_registry.schools


def test_a_missing_file_and_a_non_utf8_file_are_refused(tmp_path: Path):
    with pytest.raises(CoreError, match="no such file"):
        load_registry(tmp_path / "absent.csv")
    (tmp_path / "latin1.csv").write_bytes("school_id\nÉcole".encode("latin-1"))
    with pytest.raises(CoreError, match="not UTF-8"):
        load_registry(tmp_path / "latin1.csv")


def test_a_bad_parquet_registry_is_refused(small_registry, tmp_path: Path):
    frame = small_registry.to_frame().drop(columns=["teachers"])
    frame.to_parquet(tmp_path / "no_teachers.parquet")
    problem = single_problem(load_registry, tmp_path / "no_teachers.parquet")
    assert (problem.field, problem.message) == ("teachers", "required column is missing")
    (tmp_path / "damaged.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable Parquet file" in single_problem(load_registry, tmp_path / "damaged.parquet").message
    frame = small_registry.to_frame()
    frame.loc[1, "students"] = -5
    frame.to_parquet(tmp_path / "negative.parquet")
    problem = single_problem(load_registry, tmp_path / "negative.parquet")
    assert (problem.row, problem.field, problem.value) == (2, "students", -5)
