"""The collector's /metrics through a real Prometheus: per-region compliance equals what the store holds."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

from collectors.settings import CollectorSettings
from collectors.store import Store
from core.norms import load_policy
from core.verdict import Period, evaluate
from tests.helpers.collector import EXAMPLE_REGISTRY as REGISTRY
from tests.helpers.collector import collector_thread, enrolled, example_collector, upload
from tests.helpers.prometheus import prometheus


def test_prometheus_reads_the_compliance_the_store_holds(tmp_path, small_registry, calendar):
    with example_collector(tmp_path, small_registry, calendar) as (url, db, window):
        time.sleep(1.5)                                             # a verdict refresh after the uploads
        host_port = url.removeprefix("http://")
        with prometheus(tmp_path, [host_port]) as server:
            server.wait_for('mektepnet_region_schools{state="meeting"} > 0')
            states = {(item["metric"]["region"], item["metric"]["state"]): float(item["value"][1])
                      for item in server.query("mektepnet_region_schools > 0")}
            joined = server.by_label("sum by (region) (mektepnet_school_meets_norms "
                                     "* on (school_id) group_left (region) mektepnet_school_info)", "region")
            download = server.by_label("mektepnet_school_download_bytes_per_second", "school_id")
            created = server.query('{__name__=~"mektepnet_.*_created"}')
    # What the store holds, judged by core directly:
    store = Store(db)
    try:
        trusted = store.trusted_between(0, datetime.now(timezone.utc).timestamp() + 1)
        latest = store.latest()
    finally:
        store.close()
    today = datetime.now(timezone.utc).date()
    policy = load_policy("ministry")
    expected = {school.school_id: evaluate(school, [m for m in trusted if m.school_id == school.school_id], policy,
                                           calendar, Period(today - timedelta(days=window), today)).status
                for school in small_registry}
    assert expected["KZ-001"].value == "meets" and expected["KZ-002"].value == "below"
    assert states == {("astana", "meeting"): 1, ("akmola", "below"): 1, ("turkistan", "silent"): 1}
    assert joined == {"astana": 1.0, "akmola": 0.0}
    assert download["KZ-001"] == latest[("KZ-001", "download")].values["throughput_bps"] / 8
    assert "KZ-003" not in download and created == []


def test_metrics_pass_promtool_and_count_ingest_and_unknown_schools_are_refused(tmp_path, small_registry, calendar):
    import subprocess
    import urllib.request

    import httpx

    from collectors import enrolment
    from tests.helpers.records import latency_records
    from tests.helpers.tools import require_tool

    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db, registry=REGISTRY)) as url:
        credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
        upload(url, credentials, latency_records("KZ-001", credentials.probe_id, 7), tmp_path / "outbox.sqlite3")
        store = Store(db)
        code = enrolment.issue_code(store, "KZ-999")
        store.close()
        refused = httpx.post(f"{url}/api/v1/enroll", json={"school_id": "KZ-999", "enrollment_code": code})
        text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    assert refused.status_code == 403 and "not in the registry" in refused.json()["detail"]
    assert 'mektepnet_ingest_records_total{status="accepted"} 7.0' in text
    assert 'mektepnet_ingest_records_total{status="rejected"} 0.0' in text
    assert 'mektepnet_school_rtt_seconds{school_id="KZ-001"}' in text
    checked = subprocess.run([require_tool("promtool"), "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _local_ts(text: str) -> float:
    from core.timezone import almaty

    return datetime.fromisoformat(text).replace(tzinfo=almaty()).timestamp()


def test_session_silence_counts_school_hours_only(small_registry, calendar):
    from collectors.exporter import session_silence_seconds

    school = small_registry["KZ-003"]                                     # one shift, 08:30-13:30, 5-day week
    assert calendar.is_school_day(date(2026, 2, 9)) and calendar.is_school_day(date(2026, 2, 10))
    overnight = session_silence_seconds(school, calendar, _local_ts("2026-02-09T12:30"), _local_ts("2026-02-10T09:30"))
    six_hours = session_silence_seconds(school, calendar, _local_ts("2026-02-09T08:30"), _local_ts("2026-02-10T09:30"))
    night_only = session_silence_seconds(school, calendar, _local_ts("2026-02-09T13:30"), _local_ts("2026-02-10T08:30"))
    # The spring break and Nauryz (2026-03-19..29): eleven days of silence, none of them school time.
    assert not any(calendar.is_school_day(date(2026, 3, day)) for day in range(19, 30))
    holiday = session_silence_seconds(school, calendar, _local_ts("2026-03-18T13:30"), _local_ts("2026-03-30T08:30"))
    capped = session_silence_seconds(school, calendar, 0.0, _local_ts("2026-02-10T09:30"))
    assert (overnight, six_hours, night_only, holiday) == (7200.0, 21600.0, 0.0, 0.0)
    assert 0 < capped <= 10 * 5 * 3600                                    # 14 days back: at most 10 school days


def test_platform_checks_and_latency_under_load_reach_metrics(tmp_path, small_registry, calendar):
    import subprocess
    import urllib.request

    from core.measurement import Kind
    from probes.context import ProbeContext
    from tests.helpers.tools import require_tool

    db = tmp_path / "collector.sqlite3"
    config = CollectorSettings(db=db, registry=REGISTRY, verdict_every_seconds=0.2)
    with collector_thread(config) as url:
        credentials = enrolled(url, db, "KZ-001", tmp_path / "probe")
        context = ProbeContext("KZ-001", credentials.probe_id)
        start = datetime.now(timezone.utc) - timedelta(minutes=10)
        records = [context.record(Kind.HTTP, "https://kundelik.kz/", "http-get", start + timedelta(seconds=s),
                                  {"status_code": code, "total_seconds": total})
                   for s, code, total in ((0, 503, 2.5), (60, 200, 0.4))]
        records += [context.record(Kind.HTTP, "https://daryn.online/", "http-get", start, {},
                                   error="connect timeout"),
                    context.record(Kind.DOWNLOAD, "ndt7.edu.kz", "ndt7", start,
                                   {"throughput_bps": 40e6, "loaded_rtt_seconds": 0.180, "idle_rtt_seconds": 0.02})]
        records = [record.model_copy(update={"clock_offset_seconds": 0.0}) for record in records]
        upload(url, credentials, records, tmp_path / "outbox.sqlite3")
        for _ in range(100):                                        # until a verdict round has read the checks
            text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
            if "mektepnet_school_platform_up{" in text:
                break
            time.sleep(0.2)
    assert 'mektepnet_school_platform_up{school_id="KZ-001",platform="kundelik.kz"} 1' in text
    assert 'mektepnet_school_platform_response_seconds{school_id="KZ-001",platform="kundelik.kz"} 0.4' in text
    assert 'mektepnet_school_platform_up{school_id="KZ-001",platform="daryn.online"} 0' in text
    assert 'platform_response_seconds{school_id="KZ-001",platform="daryn.online"}' not in text
    assert 'mektepnet_school_loaded_rtt_seconds{school_id="KZ-001"} 0.18' in text
    assert 'mektepnet_school_session_silence_seconds{school_id="KZ-001"}' in text
    assert 'mektepnet_school_session_silence_seconds{school_id="KZ-003"}' not in text    # never heard from
    assert 'mektepnet_school_students{school_id="KZ-001"} 2400' in text
    assert 'latitude="51.13",longitude="71.43"' in text
    checked = subprocess.run([require_tool("promtool"), "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
