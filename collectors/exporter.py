"""The Prometheus view of the fleet: a custom collector that reads current state at every scrape.

Per school (labelled by `school_id` only): the latest download, upload, RTT, RTT under load, jitter and
loss, the time of the latest measurement of each kind, the norms verdict, whether the school is in
session and how much session time has passed since it was last heard from; per school and platform,
the latest HTTP(S) check's answer and time; one `mektepnet_school_info` series per school carries the
descriptive labels. Values older than
`max_age_seconds` are dropped so that silence shows (their timestamps stay). Per region: schools
meeting, below, without data, and silent. Verdicts come from `core.verdict` over a rolling window of
trusted results and are recomputed in the background, never per scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from collectors.store import Store
from core.measurement import Kind, Measurement
from core.metrics import escape_label, exposition_header, metric
from core.norms import Policy
from core.registry import Registry
from core.school import School
from core.school_calendar import SchoolCalendar
from core.timezone import to_local
from core.verdict import Period, Status, evaluate

log = logging.getLogger("mektepnet.collector.exporter")

LATEST: tuple[tuple[str, Kind, str], ...] = (
    ("mektepnet_school_download_bytes_per_second", Kind.DOWNLOAD, "throughput_bps"),
    ("mektepnet_school_upload_bytes_per_second", Kind.UPLOAD, "throughput_bps"),
    ("mektepnet_school_rtt_seconds", Kind.LATENCY, "rtt_median_seconds"),
    ("mektepnet_school_loaded_rtt_seconds", Kind.DOWNLOAD, "loaded_rtt_seconds"),
    ("mektepnet_school_jitter_seconds", Kind.LATENCY, "jitter_seconds"),
    ("mektepnet_school_loss_ratio", Kind.LATENCY, "loss_ratio"),
)


# The kinds the norms judge (throughput, and latency trains for RTT, jitter, loss and availability).
VERDICT_KINDS = (Kind.DOWNLOAD.value, Kind.UPLOAD.value, Kind.LATENCY.value)
SILENCE_LOOKBACK_DAYS = 14          # session silence is counted back this far, no further
REACHABLE_BELOW_STATUS = 400        # an HTTP answer below this status counts as the platform reachable


def platform_name(target: str) -> str:
    """The platform an HTTP check aimed at: the URL's host name ('https://kundelik.kz/' -> 'kundelik.kz')."""
    return urlsplit(target).hostname or target


def session_silence_seconds(school: School, calendar: SchoolCalendar, last_ts: float, now_ts: float) -> float:
    """Seconds of the school's session time (its shifts on school days, Asia/Almaty) between `last_ts` and
    `now_ts` (unix seconds), counting back at most SILENCE_LOOKBACK_DAYS: nights and holidays add nothing."""
    start = max(last_ts, now_ts - SILENCE_LOOKBACK_DAYS * 86400)
    day, last_day = to_local(datetime.fromtimestamp(start, timezone.utc)).date(), to_local(
        datetime.fromtimestamp(now_ts, timezone.utc)).date()
    silence = 0.0
    while day <= last_day:
        for shift_start, shift_end in calendar.school_hours(school, day):
            silence += max(0.0, min(shift_end.timestamp(), now_ts) - max(shift_start.timestamp(), start))
        day += timedelta(days=1)
    return silence


class Verdicts:
    """The latest verdict per school over the last `window_days` local days, refreshed every `every_seconds`."""

    def __init__(self, store: Store, registry: Registry, policy: Policy, calendar: SchoolCalendar,
                 window_days: int = 7, every_seconds: float = 300.0, now: Callable[[], float] = time.time,
                 platform_window_seconds: float = 6 * 3600):
        self.store, self.registry, self.policy, self.calendar = store, registry, policy, calendar
        self.window_days, self.every_seconds, self.now = window_days, every_seconds, now
        self.platform_window_seconds = platform_window_seconds
        self.day_policy = policy.over_school_days(1)      # day verdicts: minimum samples scaled to one day
        self.by_school: dict[str, Status] = {}
        # school_id -> platform -> (end time, reachable, total seconds) of the latest HTTP(S) check
        self.platforms: dict[str, dict[str, tuple[float, bool, float | None]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        """Recompute every school's verdict now."""
        now = datetime.fromtimestamp(self.now(), timezone.utc)
        today = to_local(now).date()
        period = Period(today - timedelta(days=self.window_days - 1), today)
        start = now - timedelta(days=self.window_days + 1)
        by_school: dict[str, Status] = {}
        platforms: dict[str, dict[str, tuple[float, bool, float | None]]] = {}
        for school in self.registry.schools:          # one school at a time: memory stays bounded nationally
            records = self.store.trusted_between(start.timestamp(), now.timestamp() + 1, school.school_id,
                                                 VERDICT_KINDS)
            by_school[school.school_id] = evaluate(school, records, self.policy, self.calendar, period).status
            checks = self.store.trusted_between(now.timestamp() - self.platform_window_seconds,
                                                now.timestamp() + 1, school.school_id, (Kind.HTTP.value,))
            platforms[school.school_id] = latest_checks(checks)
        self.by_school, self.platforms = by_school, platforms

    def judge(self, school_id: str, day: str, records: list[Measurement]) -> str | None:
        """The verdict of one school on one local day (for the daily roll-up), or None for an unknown school."""
        school = self.registry.get(school_id)
        if school is None:
            return None
        one_day = date.fromisoformat(day)
        return evaluate(school, records, self.day_policy, self.calendar, Period(one_day, one_day)).status.value

    def start(self) -> None:
        """Compute once, then keep recomputing in a daemon thread until stop()."""
        self.refresh()

        def loop() -> None:
            while not self._stop.wait(self.every_seconds):
                try:
                    self.refresh()
                except Exception:        # noqa: BLE001 - a failed round keeps the last verdicts
                    log.exception("verdict refresh failed")

        self._thread = threading.Thread(target=loop, name="verdicts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background refresh and wait for a refresh under way (the store may be closed next)."""
        self._stop.set()
        if getattr(self, "_thread", None) is not None:
            self._thread.join()


def latest_checks(checks: list[Measurement]) -> dict[str, tuple[float, bool, float | None]]:
    """The newest HTTP(S) check per platform: (end time, reachable, total seconds or None)."""
    newest: dict[str, tuple[float, bool, float | None]] = {}
    for check in checks:
        end_ts, platform = check.end.timestamp(), platform_name(check.target)
        if platform not in newest or newest[platform][0] < end_ts:
            status = check.values.get("status_code")
            reachable = check.error is None and status is not None and status < REACHABLE_BELOW_STATUS
            newest[platform] = (end_ts, reachable, check.values.get("total_seconds"))
    return newest


class FleetExposition:
    """The fleet's metrics in Prometheus' text format, written straight from the current state at each scrape.

    prometheus_client's generic collector path costs ~3 s for 7,500 schools (~100,000 samples); here the
    label strings are made once per school, the series that only change with the registry (info,
    contracted bandwidth) once per process, and a scrape formats numbers only.
    """

    def __init__(self, store: Store, registry: Registry, verdicts: Verdicts, calendar: SchoolCalendar,
                 max_age_seconds: float = 6 * 3600, now: Callable[[], float] = time.time):
        self.store, self.registry, self.verdicts, self.calendar = store, registry, verdicts, calendar
        self.max_age_seconds, self.now = max_age_seconds, now
        self._by_school = {school.school_id: f'{{school_id="{escape_label(school.school_id)}"}}' for school in registry}
        contracted = metric("mektepnet_school_contracted_bytes_per_second")
        info_lines = [exposition_header("mektepnet_school_info")]
        contracted_lines = [exposition_header(contracted.name)]
        students_lines = [exposition_header("mektepnet_school_students")]
        shift_lines = [exposition_header("mektepnet_school_busiest_shift_students")]
        for school in registry:
            by_school = self._by_school[school.school_id]
            labels = ",".join(f'{name}="{escape_label(str(value))}"' for name, value in (
                ("school_id", school.school_id), ("name", school.name), ("region", school.region),
                ("district", school.district), ("locality", school.locality.value),
                ("category", school.category.value), ("isp", school.isp), ("latitude", school.latitude),
                ("longitude", school.longitude)))
            info_lines.append(f"mektepnet_school_info{{{labels}}} 1\n")
            contracted_lines.append(f"{contracted.name}{by_school} {contracted.exported_value(school.contracted_bps)!r}\n")
            students_lines.append(f"mektepnet_school_students{by_school} {school.students}\n")
            shift_lines.append(f"mektepnet_school_busiest_shift_students{by_school} {school.busiest_shift_students}\n")
        self._static = "".join(info_lines + contracted_lines + students_lines + shift_lines)

    def text(self) -> str:
        """Every fleet family, as exposition text."""
        now = self.now()
        local = to_local(datetime.fromtimestamp(now, timezone.utc))
        school_day = {week: self.calendar.is_school_day(local.date(), week) for week in (5, 6)}
        latest = self.store.latest_values()
        kinds = [kind.value for kind in Kind]
        session = [exposition_header("mektepnet_school_in_session")]
        values = {name: [exposition_header(name)] for name, _, _ in LATEST}
        scale = {name: metric(name).exported_value(1.0) for name, _, _ in LATEST}
        stamps = [exposition_header("mektepnet_school_last_measurement_timestamp_seconds")]
        silence = [exposition_header("mektepnet_school_session_silence_seconds")]
        platform_up = [exposition_header("mektepnet_school_platform_up")]
        platform_seconds = [exposition_header("mektepnet_school_platform_response_seconds")]
        meets = [exposition_header("mektepnet_school_meets_norms")]
        states: Counter[tuple[str, str]] = Counter()
        for school in self.registry.schools:
            sid, labels = school.school_id, self._by_school[school.school_id]
            in_session = school_day[school.week_days] and any(s.start <= local.time() < s.end for s in school.shifts)
            session.append(f"mektepnet_school_in_session{labels} {1 if in_session else 0}\n")
            fresh, last_ts = False, None
            for kind in kinds:
                entry = latest.get((sid, kind))
                if entry is not None:
                    stamps.append(f'mektepnet_school_last_measurement_timestamp_seconds{{school_id="{sid}",'
                                  f'kind="{kind}"}} {entry[0]!r}\n')
                    fresh = fresh or now - entry[0] <= self.max_age_seconds
                    last_ts = entry[0] if last_ts is None else max(last_ts, entry[0])
            if last_ts is not None:
                silence.append(f"mektepnet_school_session_silence_seconds{labels} "
                               f"{session_silence_seconds(school, self.calendar, last_ts, now)!r}\n")
            for platform, (end_ts, reachable, total) in sorted(self.verdicts.platforms.get(sid, {}).items()):
                if now - end_ts > self.max_age_seconds:
                    continue
                pair = f'{{school_id="{sid}",platform="{escape_label(platform)}"}}'
                platform_up.append(f"mektepnet_school_platform_up{pair} {1 if reachable else 0}\n")
                if total is not None:
                    platform_seconds.append(f"mektepnet_school_platform_response_seconds{pair} {float(total)!r}\n")
            for name, kind, value_name in LATEST:
                entry = latest.get((sid, kind.value))
                if entry is not None and value_name in entry[1] and now - entry[0] <= self.max_age_seconds:
                    values[name].append(f"{name}{labels} {float(entry[1][value_name]) * scale[name]!r}\n")
            status = self.verdicts.by_school.get(sid)
            if status in (Status.MEETS, Status.BELOW):
                meets.append(f"mektepnet_school_meets_norms{labels} {1 if status is Status.MEETS else 0}\n")
            state = "silent" if not fresh else {Status.MEETS: "meeting", Status.BELOW: "below"}.get(status, "no_data")
            states[(school.region, state)] += 1
        regions = [exposition_header("mektepnet_region_schools")]
        for region in sorted({school.region for school in self.registry.schools}):
            for state in ("meeting", "below", "no_data", "silent"):
                regions.append(f'mektepnet_region_schools{{region="{escape_label(region)}",state="{state}"}} '
                               f"{states[(region, state)]}\n")
        parts = [self._static, *session, *(line for lines in values.values() for line in lines), *stamps, *silence,
                 *platform_up, *platform_seconds, *meets, *regions]
        return "".join(parts)
