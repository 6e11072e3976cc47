"""The summary's findings: three to five sentences with the numbers that matter most, in the reader's language."""

from __future__ import annotations

import math

from reports.analysis import Analysis
from reports.i18n import Words
from reports.tables import LABELS


def findings(analysis: Analysis, words: Words) -> list[str]:
    """Sentences for the first page; a finding whose numbers are undefined is left out, never shown as 0."""
    _, ngettext = words.gettext, words.ngettext
    coverage = analysis.coverage.iloc[0]
    measured = int(coverage["schools_measured"])
    sentences = [
        ngettext("{count} school of {total} was measured in the period;", "{count} schools of {total} were measured in the "
          "period;", measured).format(count=words.number(measured), total=words.number(coverage["schools"]))
        + " " + _("silent: {silent}, without a connection: {unconnected}.").format(
            silent=words.number(coverage["schools_silent"]), unconnected=words.number(coverage["schools_unconnected"]))]
    gap = analysis.gap
    if math.isfinite(gap.download_ratio):
        sentences.append(_("The median rural school gets {rural}, the median urban school {urban}: {ratio} times more.")
                         .format(rural=words.mbps(gap.rural_download_bps), urban=words.mbps(gap.urban_download_bps),
                                 ratio=words.number(gap.download_ratio, 1)))
    main = analysis.compliance[analysis.compliance["policy"] == analysis.policy.name].iloc[0]
    if math.isfinite(main["student_share"]):
        sentences.append(_("Under «{policy}», {share} of students study in schools that meet the norms.").format(
            policy=words.gettext(LABELS.get(analysis.policy.name, analysis.policy.name)),
            share=words.percent(main["student_share"])))
    if math.isfinite(analysis.gini):
        sentences.append(_("Inequality of bandwidth per student: Gini {gini}, Theil-T {theil}; differences between "
                           "regions make up {between} of the Theil-T.").format(
            gini=words.number(analysis.gini, 3), theil=words.number(analysis.theil_by_region.total, 3),
            between=words.percent(analysis.theil_by_region.between_share)))
    equity = analysis.equity
    sentences.append(ngettext("{count} rural school passes the rural norm of {rural} but would fail the urban norm of "
                       "{urban} (students: {students}).",
                       "{count} rural schools pass the rural norm of {rural} but would fail the urban norm of "
                       "{urban} (students: {students}).", equity.schools).format(
        count=words.number(equity.schools), rural=words.mbps(equity.rural_norm_bps, 0),
        urban=words.mbps(equity.urban_norm_bps, 0), students=words.number(equity.students)))
    return sentences[:5]
