import math

import numpy as np
import pytest

from core.errors import CoreError
from loadtests.capacity import load_generator_capacity
from loadtests.journeys import requests_per_student_second
from loadtests.profile import READINESS_PROFILE, Profile, load_profile
from loadtests.slo import parse_slo
from loadtests.truth import (Truth, endpoint_shares, mmck, queue_latencies, queue_of, requests_per_session,
                             true_readiness)

READINESS = READINESS_PROFILE
# The SLO each capacity of the readiness fixture is judged by (docs/readiness.md).
CAPACITIES = {"api": "p95<800ms,errors<1%", "tutor": "p95<300ms,errors<1%", "kundelik": "p95<500ms,errors<1%"}


def _batch_error(values: np.ndarray, batches: int = 20) -> float:
    """Standard error of a mean from batch means (the queue's successive values are correlated)."""
    means = np.array([batch.mean() for batch in np.array_split(values, batches)])
    return means.std(ddof=1) / math.sqrt(batches)


@pytest.mark.parametrize("workers, queue, load", [(1, 0, 0.5), (10, 0, 1.0), (4, 6, 0.9), (8, 20, 1.1), (3, 10, 0.95)])
def test_the_simulation_of_an_exponential_service_matches_the_m_m_c_k_formulas(workers, queue, load):
    rng = np.random.default_rng(11)
    mean_service = load * workers
    arrivals = np.cumsum(rng.exponential(1.0, 300_000))
    latency = queue_latencies(arrivals, rng.exponential(mean_service, len(arrivals)), workers, queue)[30_000:]
    blocking, mean_latency = mmck(1.0, workers, queue, mean_service)
    refused = np.isnan(latency).astype(float)
    assert blocking > 0.005 and abs(refused.mean() - blocking) <= 4 * _batch_error(refused)
    answered = latency[~np.isnan(latency)]
    assert abs(answered.mean() - mean_latency) <= 4 * _batch_error(answered)


def test_the_formula_itself_agrees_with_erlang_b_and_an_empty_system():
    # Erlang B by its recursion: B(0) = 1, B(c) = a B(c-1) / (c + a B(c-1)).
    offered, erlang_b = 7.5, 1.0
    for servers in range(1, 11):
        erlang_b = offered * erlang_b / (servers + offered * erlang_b)
    assert mmck(7.5, 10, 0, 1.0)[0] == pytest.approx(erlang_b, rel=1e-12)
    blocking, latency = mmck(1e-6, 4, 10, 0.2)
    assert blocking < 1e-20 and latency == pytest.approx(0.2)


def _endpoint_profile(workers: int, queue: int, median: float = 0.02, p95: float = 0.06) -> Profile:
    return Profile.model_validate({"name": "one endpoint", "targets": ["http://127.0.0.1:18790"], "platforms": {
        "api": {"kind": "endpoint", "endpoints": {"request": {"path": "/api", "capacity": {
            "workers": workers, "queue": queue, "service_seconds": {"median": median, "p95": p95}}}}}}})


def test_an_endpoint_platform_without_a_queue_refuses_as_erlang_b_whatever_its_service_time():
    # M/G/c/c blocking depends on the service time only through its mean (Erlang's insensitivity).
    profile = _endpoint_profile(workers=6, queue=0, median=0.02, p95=0.1)
    truth = Truth(profile.platforms["api"], seed=5, requests=300_000)
    assert truth.shares == {"request": 1.0}
    rate = 0.9 * truth.saturation_rps()
    blocking, _ = mmck(rate, 6, 0, queue_of(profile.platforms["api"].endpoints["request"]).mean_service_seconds)
    latency = queue_latencies(truth.unit_arrivals / rate, truth.services["request"], 6, 0)[truth.counted]
    refused = np.isnan(latency).astype(float)
    assert truth.at(rate).refused_ratio == pytest.approx(refused.mean())
    assert abs(refused.mean() - blocking) <= 4 * _batch_error(refused)


def test_the_same_seed_gives_the_same_truth_and_another_seed_a_close_one():
    profile = load_profile(READINESS)
    slo = parse_slo(CAPACITIES["api"])
    first, again = (true_readiness(profile, "api", slo, seed=3, requests=50_000) for _ in range(2))
    assert first == again
    other = true_readiness(profile, "api", slo, seed=4, requests=50_000)
    assert other.at_readiness != first.at_readiness
    assert other.requests_per_second == pytest.approx(first.requests_per_second, rel=0.05)


def test_readiness_grows_with_the_workers():
    slo = parse_slo("p95<800ms,errors<1%")
    rates = [true_readiness(_endpoint_profile(workers, 16), "api", slo, requests=60_000).requests_per_second
             for workers in (1, 2, 4, 8, 16)]
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    assert rates[-1] > 10 * rates[0]


def test_the_readiness_is_a_bracket_within_the_tolerance_with_the_slo_held_below_and_broken_above():
    profile = load_profile(READINESS)
    for platform, text in CAPACITIES.items():
        slo = parse_slo(text)
        readiness = true_readiness(profile, platform, slo, requests=100_000)
        truth = Truth(profile.platforms[platform], requests=100_000)
        assert readiness.at_readiness == truth.at(readiness.requests_per_second)
        assert truth.at(readiness.requests_per_second).meets(slo)
        assert not truth.at(readiness.broken_at_rps).meets(slo)
        assert readiness.broken_at_rps - readiness.requests_per_second <= readiness.tolerance * readiness.broken_at_rps
        assert readiness.requests_per_second < truth.saturation_rps()
        per_session = requests_per_session(profile.platforms[platform])
        assert readiness.sessions_per_second == pytest.approx(readiness.requests_per_second / per_session)
        students = readiness.requests_per_second / requests_per_student_second(profile.platforms[platform])
        assert readiness.students_in_session == pytest.approx(students)
    api = true_readiness(profile, "api", parse_slo(CAPACITIES["api"]), requests=50_000)
    # one request per session, one session per think time (1 s) per student: requests/s = sessions/s = students
    assert api.requests_per_second == api.sessions_per_second == pytest.approx(api.students_in_session)


def test_every_declared_capacity_is_ready_at_or_below_30_percent_of_the_rig_ceiling():
    ceiling = load_generator_capacity().rig_ceiling_requests_per_second
    profile = load_profile(READINESS)
    assert {platform.kind.value for platform in profile.platforms.values()} >= {"endpoint"}
    for platform, text in CAPACITIES.items():
        readiness = true_readiness(profile, platform, parse_slo(text), requests=100_000)
        assert 0.05 * ceiling < readiness.requests_per_second <= 0.3 * ceiling


def test_a_platform_slower_than_its_slo_at_any_rate_has_a_readiness_of_zero():
    slow = _endpoint_profile(workers=8, queue=16, median=0.5, p95=1.2)
    readiness = true_readiness(slow, "api", parse_slo("p95<800ms,errors<1%"), requests=20_000)
    assert readiness.requests_per_second == 0 and readiness.at_readiness is None


def test_an_slo_met_at_every_rate_and_an_unknown_platform_are_refused():
    # Without a queue every request is answered in its service time: the p95 alone never breaks.
    with pytest.raises(CoreError, match="meets it at every rate"):
        true_readiness(_endpoint_profile(workers=4, queue=0), "api", parse_slo("p95<800ms"), requests=20_000)
    with pytest.raises(CoreError, match="platform='nope'"):
        true_readiness(_endpoint_profile(workers=4, queue=0), "nope", parse_slo("p95<800ms"))


def test_the_mix_splits_a_platform_s_requests_as_its_journeys_do():
    profile = load_profile(READINESS)
    shares = endpoint_shares(profile.platforms["tutor"])
    # tutor sessions: a login and 2, 4 or 8 chat turns, equally likely
    assert shares == pytest.approx({"login": 3 / 17, "chat": 14 / 17})
    assert requests_per_session(profile.platforms["tutor"]) == pytest.approx(17 / 3)
    kundelik = endpoint_shares(profile.platforms["kundelik"])
    assert sum(kundelik.values()) == pytest.approx(1.0) and "final_marks" not in kundelik
    assert set(endpoint_shares(profile.platforms["kundelik"], quarter_end=True)) >= {"final_marks"}


def test_each_endpoint_is_reported_and_the_declared_bottleneck_is_the_one_that_refuses():
    profile = load_profile(READINESS)
    readiness = true_readiness(profile, "kundelik", parse_slo(CAPACITIES["kundelik"]), requests=100_000)
    endpoints = readiness.at_readiness.endpoints
    assert set(endpoints) == set(endpoint_shares(profile.platforms["kundelik"]))
    login_refused = endpoints["login"][1]
    # four login workers and eight places: the platform's refusals are the logins' (a fifth of its requests)
    assert login_refused == pytest.approx(readiness.at_readiness.refused_ratio / endpoint_shares(
        profile.platforms["kundelik"])["login"], rel=0.1)
    assert all(refused < login_refused for name, (_, refused) in endpoints.items() if name != "login")
    assert endpoints["login"][0][0.95] > endpoints["context"][0][0.95]
