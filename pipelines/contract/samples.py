"""What units' sample generators share: tables laid out as stewards do, csv as their tools export, and
workbooks written byte for byte the same on every run."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet


def freeze_zip_timestamps(path: Path, stamp: datetime) -> None:
    """Rewrite an xlsx with fixed dates (zip entries and docProps "modified", which openpyxl sets to
    now) so that the file is byte-for-byte reproducible."""
    with zipfile.ZipFile(path) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso, data)
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(fixed, data)


def csv_cell(value) -> str:
    """A value as a steward's csv shows it: dates in the French way, nothing for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence], *, delimiter: str = ";") -> Path:
    """A csv in UTF-8 as the stewards' tools export it."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        writer.writerows([csv_cell(value) for value in row] for row in rows)
    return path


def titled_table(
    sheet: Worksheet,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    widths: Sequence[int],
    fill: str = "DDEBF7",
    freeze: str | None = None,
    with_filter: bool = False,
    formats: Mapping[int, str] | None = None,
    wrapped: Sequence[int] = (),
) -> None:
    """A table as stewards lay it out: a bold title in A1, the headers on row 3, one record a row from row 4.
    Texts stay texts (never formulas), dates read DD/MM/YYYY; `formats` and `wrapped` by column number."""
    border = Border(**{side: Side(style="thin", color="A6A6A6") for side in ("left", "right", "top", "bottom")})
    sheet["A1"] = title
    sheet["A1"].font = Font(bold=True, size=13)
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(row=3, column=column, value=header)
        cell.font, cell.border = Font(bold=True), border
        cell.fill = PatternFill("solid", fgColor=fill)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    last = 3
    for last, values in enumerate(rows, start=4):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=last, column=column, value=value)
            cell.border = border
            if isinstance(value, str):
                cell.data_type = "s"  # a text, never a formula
            if isinstance(value, date):
                cell.number_format = "DD/MM/YYYY"
            elif formats and column in formats:
                cell.number_format = formats[column]
            if column in wrapped:
                cell.alignment = Alignment(wrap_text=True)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    if freeze:
        sheet.freeze_panes = freeze
    if with_filter:
        sheet.auto_filter.ref = f"A3:{get_column_letter(len(headers))}{last}"


def save_workbook(workbook: Workbook, path: Path, *, creator: str | None, moment: datetime) -> Path:
    """Save a sample workbook dated `moment`, byte for byte the same on every run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if creator:
        workbook.properties.creator = creator
    workbook.properties.created = moment
    workbook.save(path)
    freeze_zip_timestamps(path, moment)
    return path
