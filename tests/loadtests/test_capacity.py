import pytest

from core.errors import CoreError
from loadtests.capacity import generator_fleet, load_generator_capacity
from loadtests.profile import PlatformKind
from tests.helpers.cli import FIXTURES
from tests.helpers.tools import single_problem

# docs/benchmarks.md: 60,000 students at 30 s mean think sent 2,004 requests/s.
REQUESTS_PER_STUDENT_SECOND = 2004 / 60_000


def test_the_embedded_figures_cover_every_kind_and_are_those_measured():
    capacity = load_generator_capacity()
    assert set(capacity.requests_per_cpu_second) == set(PlatformKind)
    assert capacity.requests_per_cpu_second[PlatformKind.EDIARY] == 8587
    assert capacity.rig_ceiling_requests_per_second > 0


@pytest.mark.parametrize("students, cores", [(1_000_000, 10), (3_900_000, 36)])
def test_the_fleet_for_a_country_of_students_matches_the_benchmark_s_own_table(students, cores):
    # docs/benchmarks.md plans 10 cores for 1 M students and 36 for 3.9 M at 70 % (one worker per core).
    fleet = generator_fleet({PlatformKind.EDIARY: students * REQUESTS_PER_STUDENT_SECOND}, students)
    assert fleet.cores == fleet.workers == cores
    # ~90,000 connections per worker at ~110,000 students: it needs a LimitNOFILE near 100,000
    assert 80_000 < fleet.open_files_per_worker < 100_000
    assert fleet.machines == -(-cores // 16)
    assert fleet.target_ports_per_machine >= fleet.connections / fleet.machines / 28_000


def test_the_whole_country_s_memory_counts_students_processes_and_sockets():
    fleet = generator_fleet({"ediary": 3_900_000 * REQUESTS_PER_STUDENT_SECOND}, 3_900_000)
    assert fleet.connections == round(3_900_000 * 0.85)
    expected = 3_900_000 * 850 + 37 * 69_000_000 + fleet.connections * 3300
    assert fleet.memory_bytes == expected
    assert 15e9 < fleet.memory_bytes < 20e9


def test_cheaper_journeys_and_fewer_requests_need_fewer_cores():
    ediary = generator_fleet({"ediary": 50_000}, 100_000)
    video = generator_fleet({"video": 50_000}, 100_000)
    endpoint = generator_fleet({"endpoint": 50_000}, 100_000)
    assert video.cores < ediary.cores < endpoint.cores
    split = generator_fleet({"ediary": 25_000, "video": 25_000}, 100_000)
    assert video.cores <= split.cores <= ediary.cores
    assert generator_fleet({"ediary": 5_000}, 100_000).cores < ediary.cores


def test_memory_can_need_more_machines_than_cores_do():
    capacity = load_generator_capacity().model_copy(update={"machine_memory_bytes": 2_000_000_000})
    fleet = generator_fleet({"video": 1_000}, 3_000_000, capacity)
    assert fleet.cores <= 16 and fleet.machines == -(-fleet.memory_bytes // 2_000_000_000) > 1


def test_nothing_at_all_still_needs_one_core_and_one_machine():
    fleet = generator_fleet({}, 0)
    assert (fleet.cores, fleet.machines, fleet.connections, fleet.target_ports_per_machine) == (1, 1, 0, 1)


def test_bad_input_to_the_fleet_is_named():
    with pytest.raises(CoreError, match="kind='chatbot': known kinds"):
        generator_fleet({"chatbot": 10}, 10)
    with pytest.raises(CoreError, match="requests_per_second.video=-1"):
        generator_fleet({"video": -1}, 10)
    with pytest.raises(CoreError, match="students_in_session=-5"):
        generator_fleet({"video": 1}, -5)


def test_figures_without_a_kind_are_refused_naming_the_field():
    problem = single_problem(load_generator_capacity, FIXTURES / "loadtests" / "generator_missing_kind.yaml")
    assert problem.field == "requests_per_cpu_second"
    assert "missing endpoint" in problem.message
