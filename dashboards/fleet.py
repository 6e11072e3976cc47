"""Probe fleet: who was heard from when, upload backlog, versions, clock offsets, data used, enrolment."""

from __future__ import annotations

from core.norms import Policy
from dashboards.panels import (POSTGRES, label_variable, new_dashboard, prom, sql, stat_panel, table_panel,
                               time_panel)
from dashboards.rules import AlertSettings

UID = "mektepnet-fleet"
IN_REGION = 'mektepnet_school_info{region=~"$region"}'
JSON_VALUE = "(record::jsonb -> 'values' ->> '{name}')::float8"


def build(policy: Policy, settings: AlertSettings = AlertSettings()):
    """The probe fleet dashboard."""
    del policy                                  # fleet health does not depend on the norms
    silent = f"mektepnet_school_session_silence_seconds >= {settings.silent_session_seconds!r}"
    board = new_dashboard(UID, "MektepNet — probe fleet", "Is every school's probe alive, on time and up to date?")
    board = board.with_variable(label_variable("region", "Region", "label_values(mektepnet_school_info, region)",
                                               multi=True))
    for title, description, expr in (
            ("Schools heard from", "Schools with a result in the last 6 hours.",
             f"count((time() - max by (school_id) (mektepnet_school_last_measurement_timestamp_seconds)) < 21600 "
             f"and on (school_id) {IN_REGION}) or vector(0)"),
            ("Silent in school hours", f"Schools silent for {settings.silent_session_seconds / 3600:g} school "
             "hours or more (nights and holidays do not count).", f"count(({silent}) and on (school_id) {IN_REGION}) or vector(0)"),
            ("Devices not answering SNMP", "Polled routers and operator nodes silent in the last sweep.",
             "mektepnet_snmp_targets_unreachable"),
            ("Ingest rejected", "Records refused by the ingest API in the range (bad records, unknown schools).",
             'sum(increase(mektepnet_ingest_records_total{status="rejected"}[$__range]))')):
        board = board.with_panel(stat_panel(title, description, prom(expr, instant=True)).span(6))
    board = board.with_panel(table_panel(
        "Last seen", "Each school's time since its latest result and its school time in silence; sort to find "
        "the dead probes.",
        prom(f"time() - max by (school_id) (mektepnet_school_last_measurement_timestamp_seconds) "
             f"* on (school_id) group_left () {IN_REGION}", ref="A", table_format=True),
        prom(f"mektepnet_school_session_silence_seconds * on (school_id) group_left (name, region) {IN_REGION}",
             ref="B", table_format=True)).unit("s"))
    board = board.with_panel(time_panel(
        "Ingest", "Records per second the collector received, by outcome (accepted, duplicate, rejected).",
        prom("sum by (status) (rate(mektepnet_ingest_records_total[$__rate_interval]))", "{{status}}"),
        unit="reqps"))
    board = board.with_panel(time_panel(
        "Upload delay", "How late results reach the centre (received minus measured, p50 and p95 per hour): "
        "the probes' outbox backlog.",
        sql("SELECT $__timeGroupAlias(corrected_time, 1h), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY received_at - extract(epoch FROM corrected_time)) AS p50, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY received_at - extract(epoch FROM corrected_time)) AS p95 "
            "FROM measurement_series WHERE $__timeFilter(corrected_time) GROUP BY 1 ORDER BY 1", time_series=True),
        unit="s", source=POSTGRES))
    board = board.with_panel(table_panel(
        "Probe versions", "Probes per software version in the range: a rollout's progress, stragglers.",
        sql("SELECT record::jsonb ->> 'probe_version' AS version, count(DISTINCT probe_id) AS probes "
            "FROM measurement_series WHERE $__timeFilter(corrected_time) GROUP BY 1 ORDER BY 2 DESC"),
        source=POSTGRES))
    board = board.with_panel(time_panel(
        "Clock offsets", "Spread of the probes' clock offsets (p05 / p95 per hour); beyond the policy's bound "
        "results are kept but not judged.",
        sql("SELECT $__timeGroupAlias(corrected_time, 1h), "
            "percentile_cont(0.05) WITHIN GROUP (ORDER BY clock_offset_seconds) AS p05, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY clock_offset_seconds) AS p95 FROM measurement_series "
            "WHERE clock_offset_seconds IS NOT NULL AND $__timeFilter(corrected_time) GROUP BY 1 ORDER BY 1",
            time_series=True), unit="s", source=POSTGRES))
    board = board.with_panel(time_panel(
        "Data used by throughput tests", "Bytes the fleet spent on ndt7 tests per day, against the schools' links.",
        sql("SELECT $__timeGroupAlias(corrected_time, 1d), sum(" + JSON_VALUE.format(name="transferred_bytes")
            + ") AS bytes FROM measurement_series WHERE kind IN ('download', 'upload') "
            "AND $__timeFilter(corrected_time) GROUP BY 1 ORDER BY 1", time_series=True),
        unit="bytes", source=POSTGRES))
    board = _releases(board)
    return board.with_panel(table_panel(
        "Enrolment", "Probes enrolled, revoked and never heard from, per region (from the store's probes table).",
        sql("SELECT s.region, count(*) AS enrolled, count(p.revoked_at) AS revoked, "
            "count(*) FILTER (WHERE p.last_seen_at IS NULL) AS never_seen "
            "FROM probes p LEFT JOIN schools s ON s.school_id = p.school_id GROUP BY 1 ORDER BY 1"),
        source=POSTGRES, span=24))


def _releases(board):
    """The signed fleet repository's tracks: what is stable, what rolls out to whom, whether a rollout stopped."""
    for title, description, expr, unit in (
            ("Rollouts running", "Release tracks (the agent, configuration groups) rolling a candidate out now.",
             'count(mektepnet_fleet_rollout_state{state="rolling"} == 1) or vector(0)', "none"),
            ("Rollouts stopped", "Tracks whose rollout stopped (worse health than the rest, or the operator): the "
             "cohort is back on stable; see `mektepnet fleet status` for why.",
             'count(mektepnet_fleet_rollout_state{state="stopped"} == 1) or vector(0)', "none"),
            ("Fleet timestamp valid for", "Time until the signed timestamp expires; probes refuse every update "
             "after it (a freeze), so `mektepnet fleet timestamp` must run before.",
             "min(mektepnet_fleet_timestamp_expiry_timestamp_seconds) - time()", "s"),
            ("Root metadata version", "Version of the fleet's root metadata: it grows with each key rotation.",
             'max(mektepnet_fleet_metadata_version{role="root"})', "none")):
        board = board.with_panel(stat_panel(title, description, prom(expr, instant=True), unit=unit).span(6))
    board = board.with_panel(table_panel(
        "Release tracks", "Each track's stable and candidate (agent versions, or configuration targets "
        "config/<group>/<version>.yaml), its rollout state and the share of its probes on the candidate.",
        prom("mektepnet_fleet_rollout_share_ratio * on (track) group_left (stable, candidate) "
             "mektepnet_fleet_track_info", ref="A", table_format=True),
        prom("mektepnet_fleet_rollout_state == 1", ref="B", table_format=True)))
    return board.with_panel(time_panel(
        "Rollout shares", "Share of each track's probes assigned its candidate: the stages of a rollout, and "
        "the drop to 0 when one stops or completes.",
        prom("mektepnet_fleet_rollout_share_ratio", "{{track}}"), unit="percentunit"))
