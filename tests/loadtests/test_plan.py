import pytest

from core.errors import CoreError
from core.synthetic import generate_registry
from loadtests.plan import Plan
from loadtests.profile import PlatformKind, load_profile
from loadtests.shapes import SHAPES, group_sizes, registry_split, shape


@pytest.fixture(scope="module")
def split():
    return registry_split(generate_registry(300, 3), 1.0)


def test_the_registry_gives_students_per_shift_and_region(split):
    registry = generate_registry(300, 3)
    assert sum(split.by_shift.values()) == sum(school.students for school in registry)
    assert split.by_shift[2] > 0
    assert sum(split.by_region.values()) == sum(school.students for school in registry)


def test_a_scale_factor_shrinks_a_national_run_to_a_laptop_run_with_the_same_shape(split):
    small = registry_split(generate_registry(300, 3), 0.01)
    assert small.by_shift[1] == round(split.by_shift[1] * 0.01)
    sizes = group_sizes(shape("second-shift"), split, students=1000)
    assert sum(sizes.values()) == 1000
    assert sizes["first shift"] / 1000 == pytest.approx(split.by_shift[1] / sum(split.by_shift.values()), abs=0.01)


def test_the_first_bell_brings_most_students_within_minutes_of_eight():
    plan = Plan(load_profile(), shape("first-bell"), (10_000,), 5400)  # 07:30-09:00 laid on 90 minutes
    arrivals = sorted(a.arrive_seconds for a in plan.arrivals())
    within = sum(1800 - 300 <= t <= 1800 + 300 for t in arrivals)  # 07:55-08:05
    assert within / len(arrivals) > 0.6
    assert arrivals[0] >= 0 and arrivals[-1] <= 5400


def test_workers_share_the_students_without_overlap():
    plan = Plan(load_profile(), shape("second-shift"), (700, 300), 600)
    shares = [[a.number for a in plan.arrivals(index, 3)] for index in range(3)]
    numbers = sorted(n for share in shares for n in share)
    assert numbers == list(range(1000))
    assert max(map(len, shares)) - min(map(len, shares)) <= 2


def test_the_second_shift_arrives_after_the_first_leaves():
    plan = Plan(load_profile(), shape("second-shift"), (1000, 1000), 1000)
    arrivals = list(plan.arrivals())
    first, second = arrivals[:1000], arrivals[1000:]
    assert max(a.arrive_seconds for a in first) <= 60
    assert all(350 <= a.leave_seconds <= 650 for a in first)
    assert sorted(a.arrive_seconds for a in second)[500] == pytest.approx(750, abs=30)


def test_platform_shares_follow_the_profile():
    plan = Plan(load_profile(), shape("steady"), (10_000,), 600)
    platforms = [a.platform for a in plan.arrivals()]
    assert platforms.count("kundelik") / len(platforms) == pytest.approx(0.6, abs=0.02)
    only_video = Plan(load_profile(), shape("steady"), (100,), 600, kinds=frozenset({PlatformKind.VIDEO}))
    assert {a.platform for a in only_video.arrivals()} == {"bilimland"}


def test_the_first_bell_rate_jumps_at_eight_and_a_plan_over_the_cap_is_refused():
    first_bell = Plan(load_profile(), shape("first-bell"), (100_000,), 5400)
    rate_at = {round(t): rate for t, _, rate in first_bell.rate_curve(90)}
    assert rate_at[1860] > 5 * rate_at[840]  # 08:01 against 07:44
    huge = Plan(load_profile(), shape("new-platform"), (3_900_000,), 1800)
    with pytest.raises(CoreError) as caught:
        huge.check_limits()
    assert caught.value.problems[0].field == "--students" and "max_requests_per_second" in str(caught.value)
    too_long = Plan(load_profile(), shape("steady"), (10,), 5 * 3600)
    with pytest.raises(CoreError, match="max_duration_seconds"):
        too_long.check_limits()


def test_every_shape_has_a_description_and_its_students_all_arrive():
    for chosen in SHAPES.values():
        plan = Plan(load_profile(), chosen, tuple(100 for _ in chosen.groups), 600)
        assert chosen.description
        assert sum(1 for _ in plan.arrivals()) == 100 * len(chosen.groups)


def test_an_unknown_shape_names_the_known_ones():
    with pytest.raises(CoreError, match="first-bell"):
        shape("lunch")


def test_a_kind_the_profile_lacks_is_refused():
    from loadtests.profile import Profile

    profile = load_profile()
    only_tutor = Profile.model_validate({**profile.model_dump(), "platforms": {"tutor": profile.platforms["tutor"].model_dump()}})
    with pytest.raises(CoreError, match="--kind"):
        Plan(only_tutor, shape("steady"), (10,), 60, kinds=frozenset({PlatformKind.VIDEO}))
