"""School: live state from Prometheus, history from the store (late results included) with the norm drawn in."""

from __future__ import annotations

from core.norms import Policy
from dashboards.panels import (POSTGRES, label_variable, new_dashboard, prom, sql, stat_panel, time_panel,
                               verdict_mappings, verdict_stat, with_norm)

UID = "mektepnet-school"
SCHOOL = 'school_id="$school"'
CATEGORIES = ("urban", "rural", "ungraded")


def norm_case(policy: Policy, field: str) -> str:
    """SQL giving the school's threshold of one norm from its category, as the policy sets it (NULL if unset)."""
    branches = " ".join(f"WHEN '{category}' THEN {value!r}" for category, norms in
                        zip(CATEGORIES, (policy.urban, policy.rural, policy.ungraded))
                        if (value := getattr(norms, field)) is not None)
    return f"CASE category {branches} END" if branches else "NULL"


def history(kind: str, value_sql: str, column: str) -> str:
    """Clock-corrected history of one value of one kind for `$school`, from the store's view."""
    return (f"SELECT corrected_time AS time, {value_sql} AS \"{column}\" FROM measurement_series "
            f"WHERE school_id = '$school' AND kind = '{kind}' AND failed = 0 AND quarantined = 0 "
            f"AND $__timeFilter(corrected_time) ORDER BY 1")


def norm_of_school(policy: Policy, field: str) -> str:
    """The chosen school's threshold of one norm, by its category in the store's `schools` table."""
    return f"SELECT {norm_case(policy, field)} AS norm FROM schools WHERE school_id = '$school'"


def _history_panel(title: str, description: str, query: str, norm_sql: str, unit: str):
    return with_norm(time_panel(title, description, sql(query, time_series=True), unit=unit, source=POSTGRES,
                                span=12), sql(norm_sql, ref="B"))


def build(policy: Policy):
    """The school dashboard, for the school chosen in `$school`."""
    board = new_dashboard(UID, "MektepNet — school", "One school's link: history against the norm, live state.")
    board = board.with_variable(label_variable("region", "Region", "label_values(mektepnet_school_info, region)"))
    board = board.with_variable(label_variable(
        "school", "School", 'label_values(mektepnet_school_info{region=~"$region"}, school_id)'))
    board = board.with_panel(verdict_stat("Verdict", "Does the school meet its norm (last week's results)?",
                                          prom(f"mektepnet_school_meets_norms{{{SCHOOL}}}", instant=True)))
    for title, description, expr, unit in (
            ("Download now", "Latest download goodput.", f"mektepnet_school_download_bytes_per_second{{{SCHOOL}}}", "Bps"),
            ("Upload now", "Latest upload goodput.", f"mektepnet_school_upload_bytes_per_second{{{SCHOOL}}}", "Bps"),
            ("Silent for", "School time since the probe was last heard from (nights and holidays do not count).",
             f"mektepnet_school_session_silence_seconds{{{SCHOOL}}}", "s"),
            ("Contract", "The contracted bandwidth of the school's link.",
             f"mektepnet_school_contracted_bytes_per_second{{{SCHOOL}}}", "Bps")):
        board = board.with_panel(stat_panel(title, description, prom(expr, instant=True), unit=unit))
    board = board.with_panel(_history_panel(
        "Download", "Every download result (bit/s) against the norm line: dots under the dashes miss the norm.",
        history("download", "value", "download"), norm_of_school(policy, "download_min_bps"), "bps"))
    board = board.with_panel(_history_panel(
        "Upload", "Every upload result (bit/s) against the norm line.",
        history("upload", "value", "upload"), norm_of_school(policy, "upload_min_bps"), "bps"))
    board = board.with_panel(_history_panel(
        "Round-trip time", "Median RTT of each latency train against the maximum the norm allows.",
        history("latency", "value", "rtt"), norm_of_school(policy, "rtt_max_seconds"), "s"))
    board = board.with_panel(_history_panel(
        "Packet loss", "Loss of each latency train against the maximum the norm allows.",
        history("latency", "(record::jsonb -> 'values' ->> 'loss_ratio')::float8", "loss"),
        norm_of_school(policy, "loss_max_ratio"), "percentunit"))
    board = board.with_panel(time_panel(
        "Latency under load", "RTT while a download ran beside the idle RTT: a wide gap is bufferbloat.",
        prom(f"mektepnet_school_loaded_rtt_seconds{{{SCHOOL}}}", "under load", ref="A"),
        prom(f"mektepnet_school_rtt_seconds{{{SCHOOL}}}", "idle", ref="B"), unit="s"))
    board = board.with_panel(stat_panel(
        "Platforms reachable", "Each platform's latest check from the school: reachable or not.",
        prom(f"mektepnet_school_platform_up{{{SCHOOL}}}", "{{platform}}", instant=True))
        .mappings(verdict_mappings("✔ reachable", "✘ unreachable")).span(12))
    board = board.with_panel(stat_panel(
        "Platform response time", "How long each platform's latest check from the school took.",
        prom(f"mektepnet_school_platform_response_seconds{{{SCHOOL}}}", "{{platform}}", instant=True),
        unit="s").span(12))
    return board.with_panel(time_panel(
        "Uplink utilisation", "SNMP utilisation of the school's uplink against its contract; near 100 % the "
        "link, not the platform, is the limit.",
        prom(f"mektepnet_snmp_interface_utilisation_ratio * on (target) group_left (school_id) "
             f"mektepnet_snmp_target_info{{{SCHOOL}}}", "{{interface}} {{direction}}"), unit="percentunit",
        span=24))
