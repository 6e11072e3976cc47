"""National overview: how many schools and students meet the norm, by locality and region, and where."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, geomap
from grafana_foundation_sdk.models.common import FrameGeometrySourceMode
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

from core.norms import Policy
from dashboards.panels import (BLUE, ORANGE, PROMETHEUS, bar_panel, new_dashboard, prom, ratio_thresholds,
                               stat_panel, table_panel)

UID = "mektepnet-national"
SCHOOL_LABELS = "group_left (name, region, latitude, longitude) mektepnet_school_info"


def _marker_layer(name: str, ref: str, color: str, symbol: str) -> common.MapLayerOptions:
    """One marker layer: its own colour and its own shape, so the verdict reads without colour."""
    return (common.MapLayerOptions().type("markers").name(name).tooltip(True)
            .filter_data({"id": "byRefId", "options": ref})
            .location(common.FrameGeometrySource().mode(FrameGeometrySourceMode.COORDS)
                      .latitude("latitude").longitude("longitude"))
            .config({"showLegend": True, "style": {
                "color": {"fixed": color}, "opacity": 0.8, "size": {"fixed": 6},
                "symbol": {"fixed": f"img/icons/marker/{symbol}.svg", "mode": "fixed"}}}))


def school_map() -> geomap.Panel:
    """Every judged school on the map: blue circles meet the norm, orange crosses are below it."""
    return (geomap.Panel().title("Schools by verdict").datasource(PROMETHEUS).height(14).span(16)
            .description("Where the schools below the norm are: orange crosses below, blue circles meet it.")
            .with_target(prom(f"(mektepnet_school_meets_norms == 1) * on (school_id) {SCHOOL_LABELS}",
                              ref="A", table_format=True))
            .with_target(prom(f"(mektepnet_school_meets_norms == 0) * on (school_id) {SCHOOL_LABELS}",
                              ref="B", table_format=True))
            .with_transformation(DataTransformerConfig(id_val="convertFieldType", options={"conversions": [
                {"targetField": axis, "destinationType": "number"} for axis in ("latitude", "longitude")]}))
            .view(geomap.MapViewConfig().id("coords").lat(48.0).lon(67.0).zoom(5))
            .layers([_marker_layer("meets the norm", "A", BLUE, "circle"),
                     _marker_layer("below the norm", "B", ORANGE, "x-mark")]))


def build(policy: Policy):
    """The national overview dashboard (the verdicts are the collector's, under its active policy)."""
    shares = (
        stat_panel("Schools meeting the norm",
                   "Share of judged schools meeting the active norms policy, nationally.",
                   prom("mektepnet:national_compliance:ratio", "schools", instant=True), unit="percentunit").span(6),
        stat_panel("Students in schools meeting the norm",
                   "Share of students (of judged schools) whose school meets the norm.",
                   prom("mektepnet:national_students_meeting:ratio", "students", instant=True),
                   unit="percentunit"),
        stat_panel("By category", "Share of judged schools meeting the norm: urban, rural, ungraded.",
                   prom("mektepnet:category_compliance:ratio", "{{category}}", instant=True), unit="percentunit"),
        stat_panel("Schools silent", "Schools with no fresh result at all: a probe or a link is down.",
                   prom('sum(mektepnet_region_schools{state="silent"})', "silent", instant=True)),
    )
    board = new_dashboard(UID, "MektepNet — national overview",
                          "Which schools are below the norm, where, and how the regions compare.")
    for panel in shares:
        board = board.with_panel(panel.thresholds(ratio_thresholds(0.9)) if panel is not shares[-1] else panel)
    board = board.with_panel(school_map())
    board = board.with_panel(bar_panel(
        "Worst regions", "The ten regions with the lowest share of judged schools meeting the norm.",
        prom("bottomk(10, mektepnet:region_compliance:ratio)", "{{region}}", instant=True)).span(8).height(14))
    return board.with_panel(table_panel(
        "Schools per region", "Schools of each region meeting, below the norm, without enough data, or silent.",
        prom("sum by (region, state) (mektepnet_region_schools)", table_format=True)).span(24))
