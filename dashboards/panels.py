"""Shared builders of the dashboards: data sources as variables, queries, and the common panel kinds.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies) and a verdict is
never colour alone: value mappings put its word and a symbol next to the colour.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, dashboard, histogram, prometheus, stat, table, timeseries
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueTextMode, GraphDrawStyle
from grafana_foundation_sdk.models.dashboard import (DataSourceRef, FieldColorModeId,
                                                     FieldColorSeriesByMode, ThresholdsMode, ValueMap,
                                                     ValueMappingResult, VariableRefresh, VariableSort)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from dashboards.sql import POSTGRES_TYPE, Sql

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${prometheus}")
POSTGRES = DataSourceRef(type_val=POSTGRES_TYPE, uid="${postgres}")

# Okabe-Ito: distinguishable with protanopia, deuteranopia and tritanopia.
BLUE, ORANGE, SKY, GREEN, VERMILION, PURPLE, GREY = ("#0072B2", "#E69F00", "#56B4E9", "#009E73", "#D55E00",
                                                     "#CC79A7", "#999999")
MEETS_TEXT, BELOW_TEXT = "✔ meets the norm", "✘ below the norm"


def datasource_variables() -> list[dashboard.DatasourceVariable]:
    """The Prometheus and PostgreSQL data sources as variables: one dashboard serves any Grafana."""
    return [dashboard.DatasourceVariable("prometheus").label("Prometheus").type("prometheus"),
            dashboard.DatasourceVariable("postgres").label("PostgreSQL store").type(POSTGRES_TYPE)]


def label_variable(name: str, label: str, query: str, multi: bool = False) -> dashboard.QueryVariable:
    """A variable filled by a Prometheus `label_values(...)` look-up."""
    variable = (dashboard.QueryVariable(name).label(label).query(query).datasource(PROMETHEUS)
                .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC))
    return variable.multi(True).include_all(True).all_value(".*") if multi else variable


def prom(expr: str, legend: str = "", ref: str = "A", instant: bool = False, table_format: bool = False):
    """A Prometheus query: a range by default, an instant (table) query for current state."""
    query = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    if instant or table_format:
        query = query.instant()
    else:
        query = query.range()
    return query.format(PromQueryFormat.TABLE) if table_format else query


def sql(raw_sql: str, ref: str = "A", time_series: bool = False) -> Sql:
    """A PostgreSQL query on the store's views."""
    return Sql(raw_sql, "time_series" if time_series else "table").ref_id(ref).datasource(POSTGRES)


def verdict_mappings(yes: str = MEETS_TEXT, no: str = BELOW_TEXT) -> list[ValueMap]:
    """1 and 0 as words and symbols with their colours: a verdict is never colour alone."""
    return [ValueMap(options={
        "1": ValueMappingResult(text=yes, color=BLUE, index=0),
        "0": ValueMappingResult(text=no, color=ORANGE, index=1)})]


def below_mapping() -> list[ValueMap]:
    """0 as '✘ below the norm' (tables whose other columns are speeds, never exactly 1)."""
    return [ValueMap(options={"0": ValueMappingResult(text=BELOW_TEXT, color=ORANGE, index=0)})]


def ratio_thresholds(good_from: float) -> dashboard.ThresholdsConfig:
    """Orange below `good_from` (a ratio), blue from it."""
    return dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
        _step(0, ORANGE), _step(good_from, BLUE)])


def _step(value: float | None, color: str):
    from grafana_foundation_sdk.models.dashboard import Threshold

    return Threshold(value=value, color=color)


def by_value_colours() -> dashboard.FieldColor:
    """A continuous blue-to-yellow scale by value, readable without red-green vision."""
    return dashboard.FieldColor().mode(FieldColorModeId.CONTINUOUS_YL_BL).series_by(FieldColorSeriesByMode.LAST)


def stat_panel(title: str, description: str, *targets, unit: str = "none") -> stat.Panel:
    """A single figure with its name; colours from the thresholds set on it."""
    panel = stat.Panel().title(title).description(description).unit(unit).datasource(PROMETHEUS).height(4).span(4)
    panel = panel.text_mode(BigValueTextMode.VALUE_AND_NAME)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def verdict_stat(title: str, description: str, target) -> stat.Panel:
    """A verdict as a stat: the words '✔ meets' / '✘ below' on a blue / orange background."""
    return (stat_panel(title, description, target).mappings(verdict_mappings())
            .text_mode(BigValueTextMode.VALUE).color_mode(BigValueColorMode.BACKGROUND))


def legend():
    """A legend listing the series by name under the panel: series are told apart by name, not colour only."""
    from grafana_foundation_sdk.builders.common import VizLegendOptions
    from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement

    return (VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM).calcs(["lastNotNull"]))


def tooltip():
    """A tooltip over every series, sorted by value."""
    from grafana_foundation_sdk.builders.common import VizTooltipOptions
    from grafana_foundation_sdk.models.common import SortOrder, TooltipDisplayMode

    return VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)


def time_panel(title: str, description: str, *targets, unit: str = "none", source: DataSourceRef = PROMETHEUS,
               span: int = 12) -> timeseries.Panel:
    """A time series panel; series told apart by colour and by their legend."""
    panel = (timeseries.Panel().title(title).description(description).unit(unit).datasource(source)
             .height(8).span(span).color_scheme(by_value_colours()).legend(legend()).tooltip(tooltip()))
    for target in targets:
        panel = panel.with_target(target)
    return panel


def with_norm(panel: timeseries.Panel, norm_query) -> timeseries.Panel:
    """Draw the norm (a one-row query with a `norm` column) as a dashed grey line across the results, drawn
    as blue points: the norm is told apart by shape, and it follows the school chosen, not a typed number."""
    from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
    from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode, VisibilityMode
    from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

    return (panel.with_target(norm_query).color_scheme(fixed_colour_builder(BLUE))
            .draw_style(GraphDrawStyle.POINTS).show_points(VisibilityMode.ALWAYS).point_size(5)
            .thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
                [_step(0, GREY), _step(0, GREY)]))
            .thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.DASHED))
            .with_transformation(DataTransformerConfig(id_val="configFromQuery", options={
                "configRefId": norm_query.build().ref_id, "applyTo": {"id": "byFrameRefID", "options": "A"},
                "mappings": [{"fieldName": "norm", "handlerKey": "threshold1"}]})))


def table_panel(title: str, description: str, *targets, source: DataSourceRef = PROMETHEUS,
                span: int = 12) -> table.Panel:
    """A table; instant Prometheus tables are merged into one row per label set."""
    panel = (table.Panel().title(title).description(description).datasource(source).height(9).span(span)
             .frame_index(0).show_header(True))
    for target in targets:
        panel = panel.with_target(target)
    if source is PROMETHEUS and len(targets) > 1:
        from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

        panel = panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
    return panel


def bar_panel(title: str, description: str, target, unit: str = "percentunit") -> bargauge.Panel:
    """Horizontal bars with their value written on them, coloured by value."""
    from grafana_foundation_sdk.builders.common import ReduceDataOptions
    from grafana_foundation_sdk.models.common import (BarGaugeDisplayMode, BarGaugeNamePlacement, BarGaugeSizing,
                                                      BarGaugeValueMode, VizOrientation)

    return (bargauge.Panel().title(title).description(description).datasource(PROMETHEUS).unit(unit)
            .height(9).span(12).with_target(target).color_scheme(by_value_colours()).min(0).max(1)
            .display_mode(BarGaugeDisplayMode.BASIC).value_mode(BarGaugeValueMode.TEXT)
            .name_placement(BarGaugeNamePlacement.LEFT).show_unfilled(True).sizing(BarGaugeSizing.AUTO)
            .min_viz_width(8).min_viz_height(16).max_viz_height(300).legend(legend())
            .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .orientation(VizOrientation.HORIZONTAL))


def histogram_panel(title: str, description: str, target, unit: str) -> histogram.Panel:
    """The distribution of one current value across schools."""
    return (histogram.Panel().title(title).description(description).datasource(PROMETHEUS).unit(unit)
            .height(8).span(12).with_target(target).color_scheme(fixed_colour_builder(SKY))
            .legend(legend()).tooltip(tooltip()))


def fixed_colour_builder(color: str) -> dashboard.FieldColor:
    """A FieldColor builder of one fixed colour."""
    return dashboard.FieldColor().mode(FieldColorModeId.FIXED).fixed_color(color)


def new_dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    """A dashboard with MektepNet's defaults: Asia/Almaty, 5-minute refresh, the data source variables."""
    board = (dashboard.Dashboard(title).uid(uid).description(description).tags(["mektepnet"])
             .timezone("Asia/Almaty").refresh("5m").time("now-7d", "now").editable())
    for variable in datasource_variables():
        board = board.with_variable(variable)
    return board
