"""The workbook re-reads with the numbers the HTML shows, table by table, and holds the per-school values."""

from __future__ import annotations

from html.parser import HTMLParser

from openpyxl import load_workbook

from reports.i18n import Words
from reports.tables import DECIMALS, tables


class _Cells(HTMLParser):
    """The text of every table's body cells, table by table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag) -> None:
        if tag == "td" and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_workbook_numbers_are_the_html_numbers(written) -> None:
    report = written["ru"]
    words = Words.of("ru")
    parser = _Cells()
    parser.feed(report.html.read_text(encoding="utf-8"))
    html_tables = [[row for row in table if row] for table in parser.tables]
    book = load_workbook(report.xlsx, read_only=True)
    defined = tables(report.analysis)
    assert len(html_tables) == len(defined)
    compared = 0
    for table, shown in zip(defined, html_tables):
        rows = list(book[table.key].iter_rows(min_row=3, values_only=True))
        assert len(rows) == len(shown)
        for cells, html_row in zip(rows, shown):
            for column, cell, text in zip(table.columns, cells, html_row):
                if column.kind in DECIMALS:
                    assert (words.number(cell, DECIMALS[column.kind]) if cell is not None else "—") == text
                    compared += 1
                else:
                    assert cell == text
    assert compared > 200
    schools = list(book["schools"].iter_rows(min_row=3, values_only=True))
    assert len(schools) == len(report.analysis.figures)
