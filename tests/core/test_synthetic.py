from collections import Counter

import pytest

from core.regions import BY_CODE, REGIONS, in_kazakhstan
from core.registry import load_registry
from core.summary import summarise_registry
from core.synthetic import generate_registry


@pytest.fixture(scope="module")
def national():
    return generate_registry(7500, seed=1)


def test_the_national_registry_follows_the_public_figures(national):
    totals = summarise_registry(national)
    assert totals.country.schools == 7500
    rural_share = totals.by_locality["rural"].schools / 7500
    assert 0.66 <= rural_share <= 0.70                           # ~68 % rural
    assert 3.7e6 <= totals.country.students <= 4.1e6              # ~3.9 M students
    assert 330e3 <= totals.country.teachers <= 400e3              # > 360 k teachers
    assert {code for code, _ in totals.by_region} == set(BY_CODE)  # all 20 regions
    assert 0.55 <= totals.country.two_or_more_shifts / 7500 <= 0.72   # most schools on two shifts


def test_school_kinds_have_their_shape(national):
    city = [s for s in national if BY_CODE[s.region].is_city]
    assert all(1000 <= s.students <= 3000 for s in city)
    assert sum(len(s.shifts) >= 2 for s in city) / len(city) > 0.9
    ungraded = [s for s in national if s.ungraded]
    assert all(s.locality == "rural" and s.students <= 150 and len(s.shifts) == 1 for s in ungraded)
    assert len(ungraded) > 0.3 * sum(s.locality == "rural" for s in national)


def test_every_school_lies_in_its_region_and_the_country(national):
    for school in national:
        assert in_kazakhstan(school.latitude, school.longitude), school.school_id
        assert BY_CODE[school.region].contains(school.latitude, school.longitude), school.school_id


def test_the_same_seed_gives_the_same_registry_and_another_seed_does_not():
    assert generate_registry(200, 7) == generate_registry(200, 7)
    assert generate_registry(200, 7).schools != generate_registry(200, 8).schools


def test_the_file_says_it_is_synthetic(national, tmp_path):
    national.save(tmp_path / "r.csv")
    first_line = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert first_line.startswith("# ") and "SYNTHETIC" in first_line
    again = load_registry(tmp_path / "r.csv")
    assert again.synthetic and again.schools == national.schools
    assert all(s.school_id.startswith("SYN-") for s in again)


def test_small_registries_still_cover_the_big_regions():
    small = generate_registry(40, seed=3)
    assert len(small) == 40
    regions = Counter(s.region for s in small)
    assert regions["turkistan"] >= max(regions.values()) - 1
    assert len(REGIONS) == 20
