"""The report as one self-contained HTML page (charts embedded as data URIs), in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jinja2 import Environment, PackageLoader, select_autoescape

from reports.analysis import Analysis
from reports.charts import charts
from reports.findings import findings
from reports.i18n import Words
from reports.methods import methods
from reports.tables import LABELS, Table, tables


@dataclass(frozen=True)
class ShownTable:
    """A table as the template draws it: translated title and headers, shown cells (numeric or not)."""

    title: str
    headers: list[str]
    rows: list[list[tuple[str, bool]]]


def shown(table: Table, words: Words) -> ShownTable:
    """Translate and format a table."""
    numeric = [column.kind not in ("text", "region", "label") for column in table.columns]
    rows = [[(table.shown(column, record[column.key], words), is_number)
             for column, is_number in zip(table.columns, numeric)] for record in table.rows.to_dict("records")]
    return ShownTable(words.gettext(table.title), [words.gettext(c.header) for c in table.columns], rows)


def _sentences(analysis: Analysis, words: Words) -> dict[str, str]:
    _, ngettext = words.gettext, words.ngettext
    equity = analysis.equity
    rural = analysis.what_if
    capacity = analysis.capacity_by_locality
    no_video = int(capacity["schools_without_video"].sum())
    sentences = {
        "equity_sentence": ngettext(
            "{count} rural school of {counted} meets its own download norm but is below the urban norm of {urban}.",
            "{count} rural schools of {counted} meet their own download norm but are below the urban norm of {urban}.",
            equity.schools).format(count=words.number(equity.schools), counted=words.number(equity.rural_counted),
                                   urban=words.mbps(equity.urban_norm_bps, 0)) if len(rural) else "",
        "capacity_sentence": ngettext(
            "{count} school cannot carry a single video lesson at the measured speed.",
            "{count} schools cannot carry a single video lesson at the measured speed.", no_video).format(
            count=words.number(no_video)),
        "change_sentence": _("No previous period to compare with."), "readiness_sentence": ""}
    change = analysis.change
    if change is not None and change.schools:
        sentences["change_sentence"] = ngettext(
            "Over {count} school measured in both periods, the median bandwidth per student went from {before} to "
            "{now}, and the Gini coefficient from {gini_before} to {gini_now}.",
            "Over {count} schools measured in both periods, the median bandwidth per student went from {before} to "
            "{now}, and the Gini coefficient from {gini_before} to {gini_now}.", change.schools).format(
            count=words.number(change.schools), before=words.kbps(change.per_student_before_bps),
            now=words.kbps(change.per_student_now_bps), gini_before=words.number(change.gini_before, 3),
            gini_now=words.number(change.gini_now, 3))
    readiness = analysis.inputs.readiness
    if readiness is not None:
        sentences["readiness_sentence"] = _(
            "{platform} took {students} concurrent students before breaking its service level (load test of {day})."
        ).format(platform=readiness.platform, students=words.number(readiness.concurrent_students),
                 day=words.date(readiness.measured_on))
    return sentences


def _key_figures(analysis: Analysis, words: Words) -> list[tuple[str, str]]:
    coverage = analysis.coverage.iloc[0]
    return [(words.gettext("Schools"), words.number(coverage["schools"])),
            (words.gettext("Students"), words.number(coverage["students"])),
            (words.gettext("Gini coefficient"), words.number(analysis.gini, 3)),
            (words.gettext("Theil-T index"), words.number(analysis.theil_by_region.total, 3)),
            (words.gettext("median rural school"), words.mbps(analysis.gap.rural_download_bps)),
            (words.gettext("median urban school"), words.mbps(analysis.gap.urban_download_bps))]


def render_html(analysis: Analysis, words: Words, written: date) -> str:
    """The whole report as HTML text."""
    environment = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html"]),
                              extensions=["jinja2.ext.i18n"])
    environment.install_gettext_callables(words.gettext, words.ngettext, newstyle=True)
    period = analysis.inputs.now.period
    policy = analysis.policy.name
    return environment.get_template("report.html").render(
        lang=words.language.value, period=f"{words.date(period.first)} — {words.date(period.last)}",
        policy=words.gettext(LABELS.get(policy, policy)), written=words.date(written),
        findings=findings(analysis, words), key_figures=_key_figures(analysis, words), synthetic=analysis.inputs.synthetic,
        tables={t.key: shown(t, words) for t in tables(analysis)}, charts=charts(analysis, words),
        methods=methods(analysis, words), **_sentences(analysis, words))

