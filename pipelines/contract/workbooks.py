"""What units read beside their main sheet: the declared totals of a summary sheet.

A steward's workbook often carries a « Synthèse » or « Récapitulatif » sheet with totals written as
`label : number` in one cell or `label | number` in two. Units reconcile them with their detail rows
(a mismatch is a warning naming both numbers); the reading is the same for every unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.foundation.text import word_key
from pipelines.ingest.readers import read_xlsx, workbook_sheet_names

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
SUMMARY_SHEETS = re.compile(r"^(synthese|recapitulatif|recap|totaux)\b")
INLINE_TOTAL = re.compile(r"(.*?\D)\s*:\s*(\d[\d\s\u00a0\u202f]*)")


@dataclass(frozen=True)
class Declared:
    """A total declared in a summary sheet."""

    sheet: str
    row: int
    cell: str  # where the number is
    label: str  # as written
    value: int


def declared_totals(path: Path, main_sheet: str | None) -> list[Declared]:
    """The totals of the workbook's summary sheet (not `main_sheet`), if it has one."""
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        return []
    sheet = next((s for s in workbook_sheet_names(path) if s != main_sheet and SUMMARY_SHEETS.match(word_key(s))), None)
    if sheet is None:
        return []
    grid = read_xlsx(path, sheet)
    totals = []
    for index, cells in enumerate(grid.frame.iter_rows()):
        filled = [(p, " ".join(str(c).split())) for p, c in enumerate(cells) if c is not None and str(c).strip()]
        if not filled:
            continue
        position, first = filled[0]
        inline = INLINE_TOTAL.fullmatch(first)
        if inline:
            label, number = inline.group(1).strip(), inline.group(2)
        elif len(filled) > 1 and _integer(first) is None:
            label, (position, number) = first, filled[1]
        else:
            continue
        value = _integer(number)
        if value is not None:
            row = grid.first_row + index
            totals.append(Declared(sheet, row, f"{grid.column_letters[position]}{row}", label, value))
    return totals


def _integer(text: str) -> int | None:
    found = re.fullmatch(r"(\d+)(\.0+)?", re.sub(r"[\s\u00a0\u202f]", "", text))
    return int(found.group(1)) if found else None
