import pytest

from core.errors import CoreError
from loadtests.journeys import journeys, requests_per_student_second
from loadtests.profile import READINESS_PROFILE, REQUIRED_ENDPOINTS, PlatformKind, load_profile
from tests.helpers.cli import FIXTURES
from tests.helpers.tools import single_problem

PROFILES = FIXTURES / "loadtests"


def test_the_embedded_profile_has_every_kind_and_the_endpoints_its_journeys_use():
    # The embedded profile rehearses the national platforms; a single API (endpoint) is the readiness fixture's.
    profile, readiness = load_profile(), load_profile(READINESS_PROFILE)
    assert {p.kind for p in profile.platforms.values()} == set(PlatformKind) - {PlatformKind.ENDPOINT}
    assert PlatformKind.ENDPOINT in {p.kind for p in readiness.platforms.values()}
    for platform in [*profile.platforms.values(), *readiness.platforms.values()]:
        used = {step.endpoint for journey in journeys(platform.kind, quarter_end=True) for step in journey.steps}
        used |= {step.endpoint for journey in journeys(platform.kind) for step in journey.steps}
        assert used <= set(platform.endpoints)
        assert used == REQUIRED_ENDPOINTS[platform.kind]


def test_a_video_segment_is_the_bitrate_times_its_length():
    video = load_profile().platforms["bilimland"]
    assert video.segment_bytes() == 1_500_000 * 4 // 8


def test_quarter_end_makes_teachers_write_more():
    ordinary = {j.role: j for j in journeys(PlatformKind.EDIARY)}["teacher"]
    teacher = {j.role: j for j in journeys(PlatformKind.EDIARY, quarter_end=True)}["teacher"]
    assert sum(step.endpoint == "log_entry" for step in teacher.steps) == 12
    assert teacher.steps[-1].endpoint == "final_marks" and "final_marks" not in {s.endpoint for s in ordinary.steps}
    assert teacher.weight == 0.5 > ordinary.weight


def test_a_student_in_session_sends_about_one_request_per_think_time_or_faster():
    kundelik = load_profile().platforms["kundelik"]
    assert 1 / kundelik.think_seconds < requests_per_student_second(kundelik) < 3 / kundelik.think_seconds


@pytest.mark.parametrize("name, field, value", [
    ("missing_endpoint", "platforms.tutor", None),
    ("unknown_kind", "platforms.tutor.kind", "chatbot"),
    ("target_not_http", "targets", None),
    ("p95_below_median", "platforms.tutor.endpoints.chat.capacity.service_seconds", None),
    ("unknown_path_parameter", "platforms.tutor.endpoints.chat.path", "/api/chats/{password}/turns"),
    ("zero_workers", "platforms.tutor.endpoints.chat.capacity.workers", "0"),
])
def test_a_bad_profile_is_refused_naming_the_field(name, field, value):
    problem = single_problem(load_profile, PROFILES / f"{name}.yaml")
    assert problem.field == field
    if value is not None:
        assert str(problem.value) == value
    text = str(problem)
    assert f"{name}.yaml" in text and field in text


def test_a_missing_profile_file_is_named():
    with pytest.raises(CoreError, match="no such file"):
        load_profile(PROFILES / "nope.yaml")
