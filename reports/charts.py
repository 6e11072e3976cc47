"""The report's charts (matplotlib, Agg) as self-contained SVG data URIs; text drawn as outlines.

Verdicts are told apart by marker shape and line style as well as colour; colours are Okabe-Ito,
safe for colour-blind readers.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from reports.analysis import Analysis  # noqa: E402
from reports.i18n import Words  # noqa: E402
from reports.tables import LABELS  # noqa: E402

OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
             "sky": "#56B4E9", "pink": "#CC79A7", "black": "#000000"}
VERDICT_STYLE = {"meets": ("o", OKABE_ITO["green"]), "below": ("X", OKABE_ITO["vermillion"]),
                 "no data": ("s", OKABE_ITO["sky"])}
LOCALITY_STYLE = {"urban": ("-", "o", OKABE_ITO["blue"]), "rural": ("--", "^", OKABE_ITO["orange"])}

plt.rcParams.update({"svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})


def _data_uri(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue().encode()).decode()


def region_ranking(analysis: Analysis, words: Words) -> str:
    """Regions ranked by student-weighted mean bandwidth per student (kbit/s), horizontal bars."""
    groups = analysis.theil_by_region.groups.sort_values("mean")
    figure, axes = plt.subplots(figsize=(7, 0.28 * len(groups) + 1))
    names = [words.region(code) for code in groups.index]
    axes.barh(names, groups["mean"] / 1e3, color=OKABE_ITO["blue"])
    for y, value in enumerate(groups["mean"] / 1e3):
        axes.text(value, y, " " + words.number(value), va="center", fontsize=7)
    axes.set_xlabel(words.gettext("mean bandwidth per student, kbit/s"))
    return _data_uri(figure)


def distributions(analysis: Analysis, words: Words) -> str:
    """Per-student bandwidth of urban and rural schools (kbit/s, log scale), as box plots with hatching."""
    data = analysis.figures[analysis.figures["state"] != "silent"]
    figure, axes = plt.subplots(figsize=(7, 2.4))
    series, labels = [], []
    for locality in ("urban", "rural"):
        values = data.loc[data["locality"] == locality, "per_student_bps"] / 1e3
        if len(values):
            series.append(np.maximum(values.to_numpy(), 0.1))
            labels.append(words.gettext(LABELS[locality]))
    boxes = axes.boxplot(series, orientation="horizontal", patch_artist=True, widths=0.5)
    axes.set_yticks(range(1, len(labels) + 1), labels)
    for box, hatch, colour in zip(boxes["boxes"], ("", "//"), (OKABE_ITO["blue"], OKABE_ITO["orange"])):
        box.set(facecolor=colour, alpha=0.6, hatch=hatch)
    axes.set_xscale("log")
    axes.set_xlabel(words.gettext("bandwidth per student of the busiest shift, kbit/s (log scale)"))
    return _data_uri(figure)


def verdict_map(analysis: Analysis, words: Words) -> str:
    """Schools at their coordinates, one marker shape per verdict of the main policy."""
    figure, axes = plt.subplots(figsize=(7, 3.6))
    data = analysis.figures
    for status, (marker, colour) in VERDICT_STYLE.items():
        part = data[data["status"] == status]
        axes.scatter(part["longitude"], part["latitude"], marker=marker, s=14, c=colour, linewidths=0.3,
                     edgecolors="black", label=f"{words.gettext(LABELS[status])} ({words.number(len(part))})")
    axes.set_xlabel(words.gettext("longitude, °"))
    axes.set_ylabel(words.gettext("latitude, °"))
    axes.set_aspect(1.4)
    axes.legend(loc="upper left", fontsize=7, frameon=False)
    return _data_uri(figure)


def trend(analysis: Analysis, words: Words) -> str:
    """Per day: the median of the schools' day-median download (Mbit/s), urban and rural lines."""
    figure, axes = plt.subplots(figsize=(7, 2.4))
    for locality, (style, marker, colour) in LOCALITY_STYLE.items():
        part = analysis.trend[analysis.trend["locality"] == locality]
        axes.plot(part["day"], part["download_median_bps"] / 1e6, linestyle=style, marker=marker, color=colour,
                  markersize=4, label=words.gettext(LABELS[locality]))
    axes.set_ylabel(words.gettext("median download, Mbit/s"))
    axes.set_ylim(bottom=0)
    days = sorted(analysis.trend["day"].unique())
    step = max(1, len(days) // 8)
    axes.set_xticks(days[::step], [words.date(pd.Timestamp(day).date()) for day in days[::step]], fontsize=7)
    axes.legend(fontsize=7, frameon=False)
    return _data_uri(figure)


def charts(analysis: Analysis, words: Words) -> dict[str, str]:
    """Every chart by name, as data URIs."""
    return {"ranking": region_ranking(analysis, words), "distributions": distributions(analysis, words),
            "map": verdict_map(analysis, words), "trend": trend(analysis, words)}
