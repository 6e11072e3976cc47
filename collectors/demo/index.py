"""The demo's `index.html`: the headline figures (read back from the report's workbook, the load test's
summary and the readiness result) and a link to every file the demo wrote.

The page is self-contained (no script, no remote resource) and every link is relative to it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

FIRST_ROW = 3            # the report's sheets: a title row, a header row, then the rows


@dataclass(frozen=True)
class Headline:
    """The report's top figures: schools, schools measured, and the main policy's verdict counts and shares."""

    schools: int
    schools_measured: int
    policy: str
    meeting: int
    below: int
    no_data: int
    students_meeting_percent: float | None
    medians_mbps: dict[str, float] = field(default_factory=dict)   # median download by category label


def headline(workbook: Path) -> Headline:
    """Read the headline figures from the report's workbook (sheets `coverage`, `compliance`, `medians`)."""
    book = load_workbook(workbook, read_only=True, data_only=True)
    try:
        coverage = list(book["coverage"].iter_rows(min_row=FIRST_ROW, values_only=True))
        main = next(book["compliance"].iter_rows(min_row=FIRST_ROW, max_row=FIRST_ROW, values_only=True))
        medians = {str(row[0]): row[2] for row in book["medians"].iter_rows(min_row=FIRST_ROW, values_only=True)
                   if row[2] is not None}
    finally:
        book.close()
    return Headline(schools=int(sum(row[1] or 0 for row in coverage)),
                    schools_measured=int(sum(row[2] or 0 for row in coverage)), policy=str(main[0]),
                    meeting=int(main[1]), below=int(main[2]), no_data=int(main[3]), students_meeting_percent=main[5],
                    medians_mbps=medians)


@dataclass
class IndexPage:
    """What the page shows: sections of (label, value) figures, and the files to link."""

    title: str
    figures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, section: str, label: str, value: object) -> None:
        """One figure under a section heading."""
        self.figures.setdefault(section, []).append((label, str(value)))


STYLE = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
         "table{border-collapse:collapse;margin-bottom:1.5rem}"
         "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}")


def write_index(page: IndexPage, out: Path) -> Path:
    """Write out/index.html: the figures, the notes, then every file under `out` as a relative link."""
    head = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(page.title)}"
            f"</title><style>{STYLE}</style></head><body><h1>{html.escape(page.title)}</h1>")
    parts = [head]
    for section, rows in page.figures.items():
        parts.append(f"<h2>{html.escape(section)}</h2><table>")
        parts += [f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in rows]
        parts.append("</table>")
    if page.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in page.notes) + "</ul>")
    parts.append("<h2>Files</h2><ul>")
    index = out / "index.html"
    for path in sorted(linked_files(out)):
        relative = path.relative_to(out).as_posix()
        parts.append(f"<li><a href=\"{html.escape(relative)}\">{html.escape(relative)}</a></li>")
    parts.append("</ul></body></html>\n")
    index.write_text("".join(parts), encoding="utf-8")
    return index


def linked_files(out: Path) -> list[Path]:
    """The files worth a link: everything but Prometheus' data, the probes' state and the index itself."""
    skipped = {"index.html"}
    hidden = ("prometheus/data/", "probes/")
    return [path for path in out.rglob("*") if path.is_file() and path.name not in skipped
            and not path.relative_to(out).as_posix().startswith(hidden) and not path.name.endswith(
                ("-wal", "-shm"))]


def read_json(path: Path) -> dict | list | None:
    """A JSON file's content, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
