"""Tables as French users open them: CSV in the French Excel dialect, and xlsx with real numbers.

CSV: `;` between fields, decimal comma, UTF-8 with a byte-order mark (French Excel reads accents
right only then), dates as dd/mm/yyyy. xlsx: numbers stay numbers with a French display format,
frozen header, filters; a text is always written as text (never run as a formula).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from pipelines.foundation.files import atomic_path

# display format per kind of column (Excel shows them with the reader's French separators)
# (a format code is stored in Excel's invariant syntax: "," groups thousands, "." marks decimals; a French
# Excel shows them as a space and a comma; a literal space in the code would not group the millions)
EXCEL_FORMATS = {"taux": "0.0 %", "nombre": "#,##0", "decimal": "#,##0.00", "date": "dd/mm/yyyy", "mois": "mm/yyyy"}


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The French Excel dialect, byte-order mark included (write it with encoding utf-8)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return repr(value).replace(".", ",") if value == value else ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def safe_text(value: object) -> object:
    """A value as openpyxl should store it: texts that look like formulas stay texts."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return value


def write_sheet(
    sheet,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    formats: dict[int, str] | None = None,
    widths: dict[int, int] | None = None,
    row_formats: dict[int, Callable[[Sequence[object]], str]] | None = None,
) -> None:
    """Header, rows (texts kept as texts), number formats by column index (or per row: a value column
    whose unit changes from row to row), frozen header, filter."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_text(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # "=..." stays a text, never a formula Excel would run
    for index, number_format in (formats or {}).items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            cell.number_format = number_format
    for index, format_of in (row_formats or {}).items():
        for row, (cell,) in zip(rows, sheet.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1)):
            cell.number_format = format_of(row)
    for index in range(len(headers)):
        sheet.column_dimensions[get_column_letter(index + 1)].width = (widths or {}).get(index, 16)
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = sheet.dimensions


def write_workbook(
    path: Path,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    formats: dict[int, str] | None = None,
    widths: dict[int, int] | None = None,
    row_formats: dict[int, Callable[[Sequence[object]], str]] | None = None,
) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    write_sheet(sheet, headers, rows, formats, widths, row_formats)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    with atomic_path(path) as temporary:
        workbook.save(temporary)
    return path
