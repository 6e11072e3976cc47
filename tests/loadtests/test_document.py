"""The plan document: built once, written as JSON, read back identical; a bad document is refused naming the field."""

import json

import pytest

from core.errors import CoreError
from core.synthetic import generate_registry
from loadtests.document import build_document, load_plan_document, read_plan_document, write_plan_document
from loadtests.options import RunOptions
from loadtests.profile import PlatformKind
from tests.helpers.cli import FIXTURES

PROFILES = FIXTURES / "loadtests"


@pytest.fixture(scope="module")
def document():
    options = RunOptions(shape="second-shift", students=900, duration_seconds="10m", seed=7,
                         kinds="ediary,video")
    return build_document(options, generate_registry(300, 3))


def test_the_document_round_trips_and_gives_the_same_plan(document, tmp_path):
    path = write_plan_document(document, tmp_path / "plan.json")
    again = read_plan_document(path)
    assert again == document
    assert again.seed == 7 and again.kinds == frozenset({PlatformKind.EDIARY, PlatformKind.VIDEO})
    assert sum(again.group_sizes) == 900 and len(again.group_sizes) == 2
    plan, original = again.plan(), document.plan()
    assert list(plan.arrivals(1, 3)) == list(original.arrivals(1, 3))
    assert set(plan.platforms) == {"kundelik", "bilimland"}


def _refused(document, **changes) -> str:
    data = json.loads(document.model_dump_json())
    data.update(changes)
    with pytest.raises(CoreError) as caught:
        load_plan_document(json.dumps(data), "plan.json")
    return str(caught.value)


@pytest.mark.parametrize("changes, named", [
    ({"shape": "lunch"}, "plan.json: shape='lunch': unknown shape"),
    ({"group_sizes": [900]}, "plan.json: group_sizes=[900]: shape second-shift has 2 group(s), not 1"),
    ({"group_sizes": [0, 0]}, "plan.json: group_sizes=[0, 0]"),
    ({"duration_seconds": 5 * 3600}, "plan.json: duration_seconds=18000: exceeds the profile's limits.max_duration"),
    ({"kinds": ["radio"]}, "plan.json: kinds.0='radio'"),
    ({"targets": ["http://10.1.2.3:80"]}, "plan.json: targets=['http://10.1.2.3:80']: host 10.1.2.3 is not loopback"),
    ({"students": 5}, "plan.json: students=5: Extra inputs are not permitted"),
])
def test_a_bad_document_is_refused_naming_the_field(document, changes, named):
    assert named in _refused(document, **changes)


def test_a_kind_the_profile_lacks_and_a_missing_field_are_refused(document):
    from loadtests.profile import load_profile

    only_tutor = load_profile(PROFILES / "tiny_capacity.yaml").model_dump(mode="json")
    assert "plan.json: kinds=" in _refused(document, profile=only_tutor, kinds=["video"])
    data = json.loads(document.model_dump_json())
    del data["targets"]
    with pytest.raises(CoreError, match=r"plan.json: targets=\(missing\): Field required"):
        load_plan_document(json.dumps(data), "plan.json")


def test_a_non_loopback_target_needs_the_allow_list_and_the_confirmation(document):
    profile = json.loads(document.model_dump_json())["profile"]
    allowed = {**profile, "allow_hosts": ["staging.example.kz"]}
    refused = _refused(document, profile=allowed, targets=["http://staging.example.kz"])
    assert "was not confirmed" in refused
    data = {**json.loads(document.model_dump_json()), "profile": allowed, "targets": ["http://staging.example.kz"],
            "confirmed_hosts": ["staging.example.kz"]}
    assert load_plan_document(json.dumps(data), "plan.json").targets == ("http://staging.example.kz",)
