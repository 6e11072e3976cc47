"""Staged rollouts: the deterministic share, widening, and the stop on a worse-health cohort (real store)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from collectors.fleet.releases import check_wheel, publish_wheel
from collectors.fleet.repository import FleetRepository
from collectors.fleet.rollout import Plan, advance, start
from collectors.store import Store
from core.errors import CoreError
from core.fleet import Track, bucket, in_cohort
from core.measurement import Kind, Measurement
from tests.helpers.fleet import stub_wheel

NOW = 1_750_000_000.0


def test_the_share_is_deterministic_and_close_to_the_percentage():
    probes = [f"probe-{number}" for number in range(4000)]
    track = Track(stable="1", candidate="2", share_percent=25, state="rolling")
    chosen = [probe for probe in probes if in_cohort(track, probe, "KZ-1")]
    assert chosen == [probe for probe in probes if in_cohort(track, probe, "KZ-1")]
    assert 900 < len(chosen) < 1100
    wider = track.model_copy(update={"share_percent": 50})
    assert set(chosen) <= {probe for probe in probes if in_cohort(wider, probe, "KZ-1")}
    assert not in_cohort(track.model_copy(update={"schools": ("KZ-2",)}), chosen[0], "KZ-1")
    assert bucket("probe-1") == bucket("probe-1")


def _record(probe_id: str, school_id: str, version: str, error: str | None = None, at_ts: float = NOW - 600,
            attributes: dict[str, str] | None = None) -> Measurement:
    at = datetime.fromtimestamp(at_ts, UTC)
    return Measurement(measurement_id=uuid.uuid4(), school_id=school_id, probe_id=probe_id, kind=Kind.LATENCY,
                       start=at, end=at, clock_offset_seconds=0.0, values={"rtt_median_seconds": 0.02, "loss_ratio": 0.0},
                       target="collector", method="tcp-connect", method_version="1", probe_version=version, error=error,
                       attributes=attributes or {})


@pytest.fixture
def rolling(tmp_path):
    """A repository whose agent 0.2.0 rolls to 50 % of 40 probes, and the store those probes report to."""
    repository = FleetRepository.create(tmp_path / "fleet", tmp_path / "root.pem")
    publish_wheel(repository, stub_wheel(tmp_path, "0.1.0", ""), "0.1.0")
    publish_wheel(repository, stub_wheel(tmp_path, "0.2.0", ""), "0.2.0")
    plan = Plan(stages_percent=(50.0, 100.0), every_seconds=3600, margin_ratio=0.1, grace_seconds=1200)
    track = start(repository, "agent", plan, now=NOW - 7200)
    store = Store(tmp_path / "store.sqlite3")
    probes = [(f"probe-{n}", f"KZ-ALM-{n:04d}") for n in range(40)]
    for probe_id, school_id in probes:
        store.add_probe(probe_id, school_id, f"hash-{probe_id}", NOW + 1e6)
    yield repository, store, track, probes
    store.close()


def test_a_healthy_cohort_widens_and_completes(rolling):
    repository, store, track, probes = rolling
    store.insert([_record(p, s, "0.2.0" if in_cohort(track, p, s) else "0.1.0") for p, s in probes], [False] * 40)
    assert advance(repository, store, now=NOW) == {"agent": "widened to 100 %"}
    assert repository.index().agent.share_percent == 100
    store.insert([_record(p, s, "0.2.0", at_ts=NOW + 3000) for p, s in probes], [False] * 40)
    assert advance(repository, store, now=NOW + 3601) == {"agent": "complete: 0.2.0 is stable"}
    assert repository.index().agent == Track(stable="0.2.0")


def test_a_cohort_that_rolled_itself_back_stops_the_rollout(rolling):
    repository, store, _track, probes = rolling
    store.insert([_record(p, s, "0.1.0") for p, s in probes], [False] * 40)       # nobody runs 0.2.0
    outcome = advance(repository, store, now=NOW)
    assert outcome["agent"].startswith("stopped: updated probes silent or not running the candidate")
    stopped = repository.index().agent
    assert stopped.state == "stopped" and stopped.reference_for(*probes[0]) == "0.1.0"
    assert repository.rollouts() == {}


def test_a_cohort_with_more_measurement_errors_stops_the_rollout(rolling):
    repository, store, track, probes = rolling
    store.insert([_record(p, s, "0.2.0", "timeout") if in_cohort(track, p, s) else _record(p, s, "0.1.0")
                  for p, s in probes], [False] * 40)
    assert advance(repository, store, now=NOW)["agent"].startswith("stopped: measurement error ratio 100%")


@pytest.mark.parametrize(("attribute", "reason"), [
    ("starts_last_day", "stopped: updated probes that restarted 3 times or more within a day: 100%"),
    ("upload_failures_last_hour", "stopped: updated probes that failed 3 uploads or more within an hour: 100%")])
def test_a_cohort_that_crash_loops_or_fails_to_upload_stops_the_rollout(rolling, attribute, reason):
    repository, store, track, probes = rolling
    store.insert([_record(p, s, "0.2.0", attributes={attribute: "3"}) if in_cohort(track, p, s)
                  else _record(p, s, "0.1.0", attributes={attribute: "2"}) for p, s in probes], [False] * 40)
    assert advance(repository, store, now=NOW)["agent"].startswith(reason)


def test_only_the_newest_record_says_whether_a_probe_runs_the_candidate(rolling):
    repository, store, track, probes = rolling
    store.insert([_record(p, s, "0.2.0", at_ts=NOW - 900) for p, s in probes], [False] * 40)
    store.insert([_record(p, s, "0.1.0") if in_cohort(track, p, s) else _record(p, s, "0.2.0")
                  for p, s in probes], [False] * 40)                          # the cohort went back since
    assert advance(repository, store, now=NOW)["agent"].startswith("stopped: updated probes silent or not running")


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path):
    fake = tmp_path / "mektepnet-0.3.0-py3-none-any.whl"
    fake.write_text("not a zip")
    with pytest.raises(CoreError, match="--wheel.*not a zip"):
        check_wheel(fake, "0.3.0")
    with pytest.raises(CoreError, match="holds version 0.1.0, not --version 0.3.0"):
        check_wheel(stub_wheel(tmp_path, "0.1.0", ""), "0.3.0")


def test_a_new_version_is_refused_while_a_rollout_runs(rolling, tmp_path):
    repository, *_ = rolling
    with pytest.raises(CoreError, match="--version.*while agent rolls out 0.2.0"):
        publish_wheel(repository, stub_wheel(tmp_path, "0.3.0", ""), "0.3.0")
    assert repository.index().agent.candidate == "0.2.0"
