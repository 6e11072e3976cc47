"""The report reads the readiness result `mektepnet loadtest readiness` writes, and refuses a bad one."""

from __future__ import annotations

import json
from datetime import date

import pytest

from core.errors import CoreError
from reports.analysis.readiness import load_readiness

# The fields of a loadtests readiness.json the report uses, beside some it ignores.
RESULT = {"platform": "kundelik", "verdict": "knee", "requests_per_second": 265.2, "interval_low_rps": 150.0,
          "interval_high_rps": "Infinity", "students_in_session": 1834.6, "finished_at": "2027-03-16T03:05:00Z",
          "steps": []}


def test_the_load_tests_result_file_gives_the_platform_students_and_day(tmp_path):
    path = tmp_path / "readiness.json"
    path.write_text(json.dumps(RESULT))
    readiness = load_readiness(path)
    assert (readiness.platform, readiness.concurrent_students, readiness.measured_on) == (
        "kundelik", 1835, date(2027, 3, 16))


def test_a_result_without_its_students_is_refused_naming_the_field(tmp_path):
    path = tmp_path / "readiness.json"
    path.write_text(json.dumps({key: value for key, value in RESULT.items() if key != "students_in_session"}))
    with pytest.raises(CoreError) as refused:
        load_readiness(path)
    assert "concurrent_students" in str(refused.value)
