"""The methods section: every definition the numbers rest on, stated exactly, in the reader's language."""

from __future__ import annotations

from reports.analysis import Analysis
from reports.analysis.capacity import VIDEO_BITRATE_BPS
from reports.i18n import Words


def methods(analysis: Analysis, words: Words) -> list[str]:
    """The paragraphs of the methods section."""
    _ = words.gettext
    period = analysis.inputs.now.period
    return [
        _("Period: local days (Asia/Almaty, UTC+5) from {first} to {last} inclusive.").format(
            first=words.date(period.first), last=words.date(period.last)),
        _("Measured download of a school: the median, over the school days of the period that have one (the "
          "school's own week of 5 or 6 days, without holidays and breaks, from the school calendar), of the day's "
          "median download (the store's daily roll-up: the median of every trusted, successful ndt7 download result "
          "of that local day; results of probes whose clock is not trusted are kept out). By the probes' default "
          "schedule most of a school day's tests run in school hours and one runs at night, so the school-hour "
          "tests set the day's median. The verdicts, which judge the service in school hours, read only results in "
          "school hours."),
        _("Bandwidth per student: the measured download divided by the number of students of the busiest shift "
          "(at least 1), from the school registry."),
        _("Silent school: a school with a contract that sent no successful download result in the period. Silent "
          "schools are counted in the coverage table and left out of every bandwidth figure; they are never "
          "treated as 0."),
        _("School without a connection: the registry gives it no contract (0 bit/s). Its bandwidth counts as 0 "
          "and it is below every norm."),
        _("Verdict: each school day is judged by the norms policy: only results inside the "
          "school's hours on school days count; the minimum numbers of samples are scaled to one day. A school "
          "meets the policy over the period when it met it on more than half of its judged days (days with a "
          "verdict of meets or below); with no judged day it has no data."),
        _("Shares of schools and of students meeting a policy are of the schools with a verdict (meets or below); "
          "schools without data are shown apart."),
        _("Medians of a category are over its schools (silent ones left out, schools without a connection as 0); "
          "the gap is the urban median divided by the rural one."),
        _("Gini coefficient, weighted by students: G = Σᵢ Σⱼ wᵢ wⱼ |xᵢ − xⱼ| / (2 W² μ), where xᵢ is the "
          "school's bandwidth per student, wᵢ its students, W = Σ wᵢ and μ the weighted mean."),
        _("Theil-T index, weighted by students: T = (1/W) Σᵢ wᵢ (xᵢ/μ) ln(xᵢ/μ), with 0·ln 0 = 0. For groups g "
          "(regions; urban and rural) with share of bandwidth sᵍ = Wᵍ μᵍ / (W μ): T = Σ sᵍ Tᵍ (within groups) "
          "+ Σ sᵍ ln(μᵍ/μ) (between groups)."),
        _("Norm equity: rural schools (ungraded included) whose measured download meets the download norm of "
          "their own category but is below the urban download norm of the same policy."),
        _("What-if norms: for each candidate norm, the rural schools whose measured download is below it, their "
          "students, and the contract to add: the sum over them of the norm minus the contracted speed, where "
          "positive. Schools below with a sufficient contract are counted apart: their operator does not deliver "
          "the contracted speed."),
        _("Video lessons at once: the measured download divided by the platform's video bitrate of {bitrate}, "
          "rounded down. Computers per student: the region's computers divided by its students.").format(
            bitrate=words.mbps(VIDEO_BITRATE_BPS)),
        _("Change: the previous period has the same length and ends the day before this one; only schools "
          "measured in both periods are compared."),
    ]
