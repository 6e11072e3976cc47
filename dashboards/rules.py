"""Prometheus recording and alerting rules, generated from the norms policy and the alert settings.

Norm thresholds are read from the policy (`core.norms`): one recorded series per school category, a
per-student floor where the policy has one, joined to every school through `mektepnet_school_info`.
Operational thresholds (how long a probe may be silent, what counts as a compliance drop, a saturated
uplink, a platform's SLO) are `AlertSettings` fields. Nothing is typed into an expression by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.metrics import BITS_PER_BYTE
from core.norms import Policy, StudentBasis

INFO_JOIN = "* on (school_id) group_left (region, name) mektepnet_school_info"
CATEGORIES = ("urban", "rural", "ungraded")


@dataclass(frozen=True)
class AlertSettings:
    """Operational alert thresholds: seconds, ratios (0-1) and Prometheus durations."""

    silent_session_seconds: float = 6 * 3600      # session time without a result before a probe counts as silent
    region_drop_ratio: float = 0.10               # a region's compliance falling this much within a day
    uplink_saturated_ratio: float = 0.90          # utilisation of a school uplink or operator port
    uplink_saturated_for: str = "15m"
    slo_p95_seconds: float = 0.8                  # a platform's SLO in a load test (issue 14's example)
    slo_error_ratio: float = 0.01
    slo_for: str = "2m"
    evaluation_interval: str = "1m"               # how often the norm, compliance and alert groups are evaluated


def _record(name: str, expr: str, **labels: str) -> dict:
    rule = {"record": name, "expr": expr}
    return {**rule, "labels": labels} if labels else rule


def norm_rules(policy: Policy) -> list[dict]:
    """The download norm of every category and every school (bytes/s), and each school's share of it."""
    rules = [_record("mektepnet:norm_download:bytes_per_second", f"vector({norms.download_min_bps / BITS_PER_BYTE!r})",
                     category=category, policy=policy.name)
             for category, norms in zip(CATEGORIES, (policy.urban, policy.rural, policy.ungraded))
             if norms.download_min_bps is not None]
    by_school = ("max by (school_id, category) (mektepnet_school_info) * 0 "
                 "+ on (category) group_left () mektepnet:norm_download:bytes_per_second")
    per_student = policy.per_student
    if per_student is not None:
        students = ("mektepnet_school_busiest_shift_students" if per_student.basis is StudentBasis.BUSIEST_SHIFT
                    else "mektepnet_school_students")
        by_school = (f"max by (school_id) (({by_school}) or (({students} > {per_student.above_students}) "
                     f"* {per_student.min_bps / BITS_PER_BYTE!r}))")
    return [*rules,
            _record("mektepnet:school_norm_download:bytes_per_second", by_school),
            _record("mektepnet:school_download_norm:ratio",
                    "mektepnet_school_download_bytes_per_second "
                    "/ on (school_id) group_left () mektepnet:school_norm_download:bytes_per_second")]


def compliance_rules(policy: Policy) -> list[dict]:
    """Compliance by region, locality and category, the share of students meeting the norm, per-student speed."""
    judged = "mektepnet_school_meets_norms"
    students = ("mektepnet_school_busiest_shift_students"
                if policy.per_student is None or policy.per_student.basis is StudentBasis.BUSIEST_SHIFT
                else "mektepnet_school_students")
    return [
        _record("mektepnet:region_compliance:ratio",
                'sum by (region) (mektepnet_region_schools{state="meeting"}) '
                '/ sum by (region) (mektepnet_region_schools{state=~"meeting|below"})'),
        _record("mektepnet:national_compliance:ratio",
                'sum(mektepnet_region_schools{state="meeting"}) / sum(mektepnet_region_schools{state=~"meeting|below"})'),
        *[_record(f"mektepnet:{label}_compliance:ratio",
                  f"avg by ({label}) ({judged} * on (school_id) group_left ({label}) mektepnet_school_info)")
          for label in ("locality", "category")],
        _record("mektepnet:region_locality_compliance:ratio",
                f"avg by (region, locality) ({judged} * on (school_id) group_left (region, locality) mektepnet_school_info)"),
        _record("mektepnet:region_students_meeting:ratio",
                f"sum by (region) (mektepnet_school_students * on (school_id) {judged} "
                f"* on (school_id) group_left (region) mektepnet_school_info) "
                f"/ sum by (region) (mektepnet_school_students * on (school_id) ({judged} * 0 + 1) "
                f"* on (school_id) group_left (region) mektepnet_school_info)"),
        _record("mektepnet:national_students_meeting:ratio",
                f"sum(mektepnet_school_students * on (school_id) {judged}) "
                f"/ sum(mektepnet_school_students * on (school_id) ({judged} * 0 + 1))"),
        _record("mektepnet:school_download_per_student:bytes_per_second",
                f"mektepnet_school_download_bytes_per_second / on (school_id) ({students} > 0)"),
    ]


def failed_rate(selector: str, window: str, by: str = "platform") -> str:
    """Failed requests per second summed by `by`, and a 0 labelled outcome="none" for a platform without failures:
    no errors reads as zero, never as no data. `selector` adds matchers, e.g. 'platform=~"$platform"'."""
    failed = "{" + (f"{selector}," if selector else "") + 'outcome!="ok"}'
    every = f"{{{selector}}}" if selector else ""
    return (f"sum by ({by}) (rate(mektepnet_loadtest_requests_total{failed}[{window}])) "
            f"or label_replace(sum by (platform) (rate(mektepnet_loadtest_requests_total{every}[{window}])) * 0, "
            f'"outcome", "none", "", "")')


def loadtest_rules() -> list[dict]:
    """A load test's p95 latency and error ratio per platform over the last minute."""
    return [
        _record("mektepnet:loadtest_p95:seconds",
                "histogram_quantile(0.95, sum by (le, platform) "
                "(rate(mektepnet_loadtest_request_duration_seconds_bucket[1m])))"),
        _record("mektepnet:loadtest_error:ratio",
                f"sum by (platform) ({failed_rate('', '1m')}) / sum by (platform) (rate(mektepnet_loadtest_requests_total[1m]))"),
    ]


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, description: str) -> dict:
    return {"alert": name, "expr": expr, "for": duration, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description}}


def alert_rules(settings: AlertSettings) -> list[dict]:
    """The alerts ministry IT acts on; every school alert carries `region` for routing and grouping."""
    utilisation = f"mektepnet_snmp_interface_utilisation_ratio > {settings.uplink_saturated_ratio!r}"
    with_school = f"({utilisation}) * on (target) group_left (school_id) mektepnet_snmp_target_info"
    with_region = f"({with_school}) * on (school_id) group_left (region) mektepnet_school_info"
    return [
        _alert("SchoolBelowNormAllDay",
               f"(max_over_time(mektepnet:school_download_norm:ratio[1d]) < 1 "
               f"and on (school_id) max_over_time(mektepnet_school_in_session[1d]) == 1) {INFO_JOIN}",
               "0m", "warning", "{{ $labels.name }} ({{ $labels.school_id }}) stayed below its download norm all day",
               "Every download result of the last 24 hours, a school session included, was below the norm "
               "(best share of the norm: {{ $value | humanizePercentage }})."),
        _alert("ProbeSilent",
               f"(mektepnet_school_session_silence_seconds >= {settings.silent_session_seconds!r}) {INFO_JOIN}",
               "5m", "warning", f"{{{{ $labels.name }}}} ({{{{ $labels.school_id }}}}) silent for "
               f"{settings.silent_session_seconds / 3600:g} school hours",
               "No result from the school's probe for {{ $value | humanizeDuration }} of session time "
               "(nights, weekends and holidays do not count)."),
        _alert("RegionComplianceDropping",
               f"(mektepnet:region_compliance:ratio offset 1d) - mektepnet:region_compliance:ratio "
               f"> {settings.region_drop_ratio!r}",
               "30m", "critical", "Compliance in {{ $labels.region }} fell within a day",
               "The share of the region's judged schools meeting the norm is {{ $value | humanizePercentage }} "
               "lower than 24 hours ago."),
        _alert("UplinkSaturated",
               f"{with_region} or (({with_school}) unless on (target, interface, direction) ({with_region}))",
               settings.uplink_saturated_for, "warning", "{{ $labels.target }} {{ $labels.interface }} saturated",
               "Utilisation {{ $value | humanizePercentage }} ({{ $labels.direction }}) of the contracted or "
               "port capacity."),
        _alert("PlatformSloBroken",
               f"mektepnet:loadtest_p95:seconds > {settings.slo_p95_seconds!r} "
               f"or mektepnet:loadtest_error:ratio > {settings.slo_error_ratio!r}",
               settings.slo_for, "warning", "{{ $labels.platform }} broke its SLO in the load test",
               f"p95 above {settings.slo_p95_seconds:g} s or errors above {settings.slo_error_ratio:.0%}: "
               "value {{ $value }}."),
    ]


def rule_groups(policy: Policy, settings: AlertSettings = AlertSettings()) -> dict:
    """The rules file Prometheus loads (`rule_files:`), as a YAML-ready document."""
    return {"groups": [
        {"name": "mektepnet-norms", "interval": settings.evaluation_interval, "rules": norm_rules(policy)},
        {"name": "mektepnet-compliance", "interval": settings.evaluation_interval, "rules": compliance_rules(policy)},
        {"name": "mektepnet-loadtest", "interval": "15s", "rules": loadtest_rules()},
        {"name": "mektepnet-alerts", "interval": settings.evaluation_interval, "rules": alert_rules(settings)},
    ]}
