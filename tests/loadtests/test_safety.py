import pytest

from core.errors import CoreError
from loadtests.profile import load_profile
from loadtests.safety import approved_targets, is_loopback
from tests.helpers.cli import FIXTURES

PROFILES = FIXTURES / "loadtests"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True),
                                            ("localhost", True), ("10.0.0.1", False), ("kundelik.kz", False),
                                            ("127.0.0.1.example.org", False), ("", False)])
def test_only_loopback_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_loopback_targets_need_no_confirmation():
    assert approved_targets(load_profile(PROFILES / "good_minimal.yaml"), []) == ["http://127.0.0.1:8780"]


def test_a_host_missing_from_the_allow_list_is_refused_even_when_confirmed():
    with pytest.raises(CoreError) as caught:
        approved_targets(load_profile(PROFILES / "remote_not_allowed.yaml"), ["10.99.0.1"])
    [problem] = caught.value.problems
    assert problem.field == "targets" and "10.99.0.1" in str(problem) and "nothing was sent" in str(problem)


def test_an_allowed_host_still_needs_the_operator_to_confirm_it():
    profile = load_profile(PROFILES / "allowed_remote.yaml")
    with pytest.raises(CoreError) as caught:
        approved_targets(profile, [])
    assert caught.value.problems[0].field == "--confirm-target"
    assert approved_targets(profile, ["10.99.0.1"]) == ["http://10.99.0.1:8780"]


def test_a_host_override_is_judged_like_a_profile_target():
    with pytest.raises(CoreError, match="not loopback"):
        approved_targets(load_profile(), [], override="http://kundelik.kz")
