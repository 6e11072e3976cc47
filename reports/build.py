"""Writing the inequality report: read the store over a period, analyse, render HTML, PDF and XLSX."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from collectors.store import Store, is_postgresql
from core.norms import load_policy
from core.registry import load_registry
from core.school_calendar import SchoolCalendar
from core.verdict import Period
from reports.analysis import Analysis, Inputs, analyse
from reports.analysis.readiness import load_readiness
from reports.analysis.schools import school_frame
from reports.errors import ReportError
from reports.i18n import Language, Words
from reports.source import check_registry, read_period
from reports.tables import school_table, tables

FORMATS = ("html", "pdf", "xlsx")
Progress = Callable[[str], None]            # told the step being done


@dataclass(frozen=True)
class ReportRequest:
    """What to write: store, registry, policies (the first is the main one), period, language, formats, folder."""

    db: str
    registry: Path
    first: date
    last: date
    out: Path
    policies: tuple[str, ...] = ("ministry", "giga-2030", "equal-norms")
    language: Language = Language.RU
    formats: tuple[str, ...] = FORMATS
    readiness: Path | None = None

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ReportError.one("command line", "--to", self.last.isoformat(),
                                  f"the period is empty: it ends before it starts ({self.first.isoformat()})")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ReportError.one("command line", "--format", ",".join(self.formats),
                                  f"expected some of {', '.join(FORMATS)}")

    @property
    def period(self) -> Period:
        """The local days reported on."""
        return Period(self.first, self.last)

    @property
    def previous(self) -> Period:
        """The period of the same length that ends the day before this one."""
        length = (self.last - self.first).days + 1
        return Period(self.first - timedelta(days=length), self.first - timedelta(days=1))


def analyse_store(request: ReportRequest, progress: Progress = lambda step: None) -> Analysis:
    """Read the store and compute every indicator; refuse bad input with a ReportError (or CoreError)."""
    policies = tuple(load_policy(name) for name in request.policies)
    registry = load_registry(request.registry)
    readiness = load_readiness(request.readiness) if request.readiness else None
    if not is_postgresql(request.db) and not Path(request.db).is_file():
        raise ReportError.one("command line", "--db", request.db, "no such store (a SQLite file or postgresql:// URL)")
    calendar = SchoolCalendar.load()
    store = Store(request.db)
    try:
        now = read_period(store, registry, policies, calendar, request.period, progress)
        if not (now.daily["kind"] == "download").any():
            raise ReportError.one("command line", "--from/--to", str(request.period),
                                  "the store holds no download measurement in this period")
        check_registry(store, registry, now.daily)
        before = read_period(store, registry, policies[:1], calendar, request.previous, progress)
    finally:
        store.close()
    progress("analysis")
    has_before = (before.daily["kind"] == "download").any()
    return analyse(Inputs(school_frame(registry), policies, now, before if has_before else None, readiness,
                          registry.synthetic))


def write_report(request: ReportRequest, analysis: Analysis, progress: Progress = lambda step: None,
                 written: date | None = None) -> list[Path]:
    """Write the report's files into `request.out`; returns their paths."""
    from reports.html import render_html

    words = Words.of(request.language)
    request.out.mkdir(parents=True, exist_ok=True)
    stem = f"inequality-{request.first.isoformat()}-{request.last.isoformat()}-{request.language.value}"
    paths = []
    html = None
    if {"html", "pdf"} & set(request.formats):
        progress("html")
        html = render_html(analysis, words, written or date.today())
    if "html" in request.formats:
        paths.append(request.out / f"{stem}.html")
        paths[-1].write_text(html, encoding="utf-8")
    if "pdf" in request.formats:
        from reports.pdf import write_pdf

        progress("pdf")
        paths.append(request.out / f"{stem}.pdf")
        write_pdf(html, paths[-1])
    if "xlsx" in request.formats:
        from reports.xlsx import write_xlsx

        progress("xlsx")
        paths.append(request.out / f"{stem}.xlsx")
        write_xlsx([*tables(analysis), school_table(analysis)], words, paths[-1])
    return paths
