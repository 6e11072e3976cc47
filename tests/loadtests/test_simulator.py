import asyncio
import time

import httpx
import pytest

from tests.helpers.cli import FIXTURES
from tests.helpers.platformsim import platform_sim, sim_counter

TINY = FIXTURES / "loadtests" / "tiny_capacity.yaml"


async def _logins(url: str, count: int) -> list[tuple[int, float, str | None]]:
    async with httpx.AsyncClient(timeout=30) as client:
        async def one():
            started = time.perf_counter()
            answer = await client.post(f"{url}/api/login", content=b"x" * 100)
            return answer.status_code, time.perf_counter() - started, answer.headers.get("retry-after")
        return await asyncio.gather(*(one() for _ in range(count)))


def test_two_workers_and_a_queue_of_two_serve_four_of_ten_and_refuse_six_with_503():
    with platform_sim(TINY) as url:
        answers = asyncio.run(_logins(url, 10))
        served = sorted(seconds for status, seconds, _ in answers if status == 200)
        refused = [retry for status, _, retry in answers if status == 503]
        assert len(served) == 4 and len(refused) == 6
        assert all(retry == "1" for retry in refused)
        # two are served at once, the two queued wait for them: ~0.3 s and ~0.6 s, service time spent waiting
        assert served[0] == pytest.approx(0.3, abs=0.15) and served[-1] == pytest.approx(0.6, abs=0.2)
        assert sim_counter(url, "ok", "login") == 4 and sim_counter(url, "rejected", "login") == 6


def test_quarter_end_slows_the_endpoints_that_declare_it():
    with platform_sim(TINY, quarter_end=True) as url:
        [(status, seconds, _)] = asyncio.run(_logins(url, 1))
    assert status == 200 and seconds == pytest.approx(0.9, abs=0.2)


def test_a_tutor_answer_streams_for_its_declared_seconds_and_unknown_paths_are_404():
    with platform_sim(TINY) as url:
        arrivals = []
        started = time.perf_counter()
        with httpx.stream("POST", f"{url}/api/chats/7/turns", content=b"q", timeout=10) as answer:
            for chunk in answer.iter_bytes():
                arrivals.append((time.perf_counter() - started, len(chunk)))
        assert answer.status_code == 200 and answer.headers["content-type"] == "text/event-stream"
        assert sum(size for _, size in arrivals) == 1000
        assert arrivals[0][0] < 0.4 and arrivals[-1][0] >= 0.9
        assert httpx.get(f"{url}/api/nothing").status_code == 404
        assert httpx.get(f"{url}/api/login").status_code == 404  # the profile says POST


def test_the_default_profile_answers_every_platform_with_its_sizes():
    from loadtests.profile import load_profile

    profile = load_profile()
    with platform_sim() as url:
        video = profile.platforms["bilimland"]
        segment = httpx.get(f"{url}/bilimland/video/12/seg-3.ts")
        assert segment.status_code == 200 and len(segment.content) == video.segment_bytes()
        schedule = httpx.get(f"{url}/kundelik/v2/persons/1000001/groups/4/schedules",
                             params={"startDate": "2026-11-23", "endDate": "2026-11-23"})
        assert len(schedule.content) == profile.platforms["kundelik"].endpoints["schedule"].response_bytes
        metrics = httpx.get(f"{url}/metrics").text
        assert 'mektepnet_platform_sim_busy_workers{endpoint="login",platform="kundelik"} 0.0' in metrics
