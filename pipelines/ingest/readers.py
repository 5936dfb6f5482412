"""Readers: turn a pre-flighted upload into a grid of text cells with spreadsheet coordinates.

Everything is read as text and cast explicitly later: polars and fastexcel infer types from the
first rows and silently turn later non-conforming cells into null.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from pipelines.foundation.files import open_regular
from pipelines.foundation.text import word_key
from pipelines.ingest.headers import HEADER_SEARCH_ROWS


@dataclass(frozen=True)
class Grid:
    """Cells as text. Row i of `frame` is spreadsheet row `first_row + i` (CSV: line number)."""

    frame: pl.DataFrame  # columns named c0, c1, ...
    sheet: str | None
    first_row: int
    column_letters: list[str]

    def head_rows(self, count: int = HEADER_SEARCH_ROWS) -> list[tuple[object, ...]]:
        return self.frame.head(count).rows()


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def workbook_sheet_names(path: Path) -> list[str]:
    return list(fastexcel.read_excel(path).sheet_names)


def choose_sheet(sheet_names: list[str], preferred: tuple[str, ...]) -> str:
    """The first sheet whose name matches one of the source's names, else the first sheet."""
    wanted = {word_key(name) for name in preferred}
    for name in sheet_names:
        if word_key(name) in wanted:
            return name
    return sheet_names[0]


def read_xlsx(path: Path, sheet: str) -> Grid:
    reader = fastexcel.read_excel(path)
    # skip_rows=0 keeps the leading empty rows, so row i is spreadsheet row i + 1.
    loaded = reader.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string")
    frame = loaded.to_polars()
    letters = [column_letter(info.absolute_index) for info in loaded.selected_columns]
    frame.columns = [f"c{i}" for i in range(frame.width)]
    return Grid(frame=frame, sheet=sheet, first_row=1, column_letters=letters)


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, else Windows-1252 (Excel's French default)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


DELIMITERS = (";", ",", "\t")


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter seen most often on one line among the first lines; ';' wins ties (French Excel)."""
    best, best_count = ";", 0
    for candidate in DELIMITERS:
        count = max((line.count(candidate) for line in lines), default=0)
        if count > best_count:
            best, best_count = candidate, count
    return best


LINE_END = re.compile(r"\r\n|\r|\n")


def first_lines(text: str, count: int) -> list[tuple[str, int]]:
    """The first `count` lines, each with the offset where the next one starts; the rest of the
    text is not scanned (a national extract has close to a million lines)."""
    lines, start = [], 0
    for end in itertools.islice(LINE_END.finditer(text), count):
        lines.append((text[start : end.start()], end.end()))
        start = end.end()
    if len(lines) < count and start < len(text):
        lines.append((text[start:], len(text)))
    return lines


def read_csv(path: Path, header_finder) -> tuple[Grid, str, str]:
    """Read a CSV as text. `header_finder(rows)` returns (index of the header line, how many known
    headers it holds).

    Lines above the header (titles) may have any number of fields, so the header is located with
    the csv module on the first lines, and polars reads from the header on. The delimiter is the one
    under which the header is found best (a title or a data line full of commas does not decide it),
    else the one seen most often on a line.
    """
    with open_regular(path) as handle:
        data = handle.read()
    text, encoding = decode_text(data)
    head = first_lines(text, HEADER_SEARCH_ROWS)
    lines = [line for line, _ in head]
    found = {candidate: header_finder(list(csv.reader(lines, delimiter=candidate))) for candidate in DELIMITERS}
    best = max(found, key=lambda candidate: found[candidate][1])
    delimiter = best if found[best][1] > 0 else sniff_delimiter(lines)
    header_index = found[delimiter][0] or 0
    if header_index == 0 and encoding == "utf-8":
        body = data  # already what polars reads: no copy
    else:
        body = text[head[header_index - 1][1] if header_index else 0 :].encode("utf-8")
    frame = pl.read_csv(
        io.BytesIO(body),
        separator=delimiter,
        has_header=False,
        infer_schema=False,
        truncate_ragged_lines=True,
    )
    frame.columns = [f"c{i}" for i in range(frame.width)]
    letters = [column_letter(i) for i in range(frame.width)]
    return Grid(frame=frame, sheet=None, first_row=header_index + 1, column_letters=letters), encoding, delimiter
