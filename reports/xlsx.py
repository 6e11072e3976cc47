"""The report's workbook (openpyxl): one sheet per table, numbers in the units the headers name."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reports.i18n import Words
from reports.tables import DECIMALS, Table, workbook_value

FORMATS = {kind: "0" if decimals == 0 else "0." + "0" * decimals for kind, decimals in DECIMALS.items()}


def write_xlsx(tables: list[Table], words: Words, path: Path) -> None:
    """Write every table to its own sheet: a title row, a header row, then the rows (unrounded numbers)."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.key[:31])
        sheet.append([words.gettext(table.title)])
        sheet["A1"].font = Font(bold=True)
        sheet.append([words.gettext(column.header) for column in table.columns])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for record in table.rows.to_dict("records"):
            sheet.append([workbook_value(column, record[column.key]) if column.kind not in ("region", "label")
                          else table.shown(column, record[column.key], words) for column in table.columns])
        for index, column in enumerate(table.columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(12, min(40, len(words.gettext(column.header)) + 2))
            if column.kind in FORMATS:
                for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                    cell.number_format = FORMATS[column.kind]
        sheet.freeze_panes = "A3"
    book.save(path)
