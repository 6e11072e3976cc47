"""Region: its districts and schools, the spread of per-student speed, and the schools below the norm."""

from __future__ import annotations

from core.norms import Policy
from dashboards.panels import (POSTGRES, label_variable, new_dashboard, prom, ratio_thresholds, sql, stat_panel,
                               table_panel, histogram_panel, time_panel, below_mapping)

UID = "mektepnet-region"
IN_REGION = 'mektepnet_school_info{region=~"$region"}'


def build(policy: Policy):
    """The region dashboard, for the region chosen in `$region`."""
    board = new_dashboard(UID, "MektepNet — region", "A region's districts and schools against the norm.")
    board = board.with_variable(label_variable("region", "Region", "label_values(mektepnet_school_info, region)"))
    board = board.with_panel(stat_panel(
        "Schools meeting the norm", "Share of the region's judged schools meeting the norm now.",
        prom('mektepnet:region_compliance:ratio{region=~"$region"}', "{{region}}", instant=True),
        unit="percentunit").thresholds(ratio_thresholds(0.9)).span(6))
    board = board.with_panel(stat_panel(
        "Students in schools meeting the norm", "Share of the region's students whose school meets the norm.",
        prom('mektepnet:region_students_meeting:ratio{region=~"$region"}', "{{region}}", instant=True),
        unit="percentunit").thresholds(ratio_thresholds(0.9)).span(6))
    board = board.with_panel(stat_panel(
        "Urban and rural", "Share of judged schools meeting the norm, urban against rural.",
        prom('mektepnet:region_locality_compliance:ratio{region=~"$region"}', "{{locality}}", instant=True),
        unit="percentunit").thresholds(ratio_thresholds(0.9)).span(12))
    board = board.with_panel(table_panel(
        "Districts", "Per district: judged schools and the share meeting the norm; sort to find the weakest.",
        prom(f"avg by (district) (mektepnet_school_meets_norms * on (school_id) group_left (district) {IN_REGION})",
             ref="A", table_format=True),
        prom(f"count by (district) ({IN_REGION})", ref="B", table_format=True)))
    board = board.with_panel(histogram_panel(
        "Download per student", "How the region's schools spread in download per student of the busiest shift.",
        prom(f"mektepnet:school_download_per_student:bytes_per_second * on (school_id) group_left () {IN_REGION}",
             instant=True), unit="Bps"))
    board = board.with_panel(table_panel(
        "Schools below the norm", "Each school below the norm with its contracted and measured download.",
        prom(f"(mektepnet_school_meets_norms == 0) * on (school_id) group_left (name, district, locality) "
             f"{IN_REGION}", ref="A", table_format=True),
        prom(f"mektepnet_school_contracted_bytes_per_second * on (school_id) group_left () "
             f"(mektepnet_school_meets_norms == 0) * on (school_id) group_left () {IN_REGION}",
             ref="B", table_format=True),
        prom(f"mektepnet_school_download_bytes_per_second * on (school_id) group_left () "
             f"(mektepnet_school_meets_norms == 0) * on (school_id) group_left () {IN_REGION}",
             ref="C", table_format=True)).mappings(below_mapping()).span(24))
    return board.with_panel(time_panel(
        "Day verdicts over time", "Schools of the region meeting and below the norm per school day (the store's "
        "day verdicts, late results included).",
        sql("SELECT day AS time, meeting, below, no_data FROM daily_compliance_by_region "
            f"WHERE region = '$region' AND policy = '{policy.name}' AND $__timeFilter(day) ORDER BY 1",
            time_series=True), source=POSTGRES, span=24))
