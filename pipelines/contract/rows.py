"""The rows of one upload as a unit's derivation and rules see them: a typed frame, and how to point
at a cell of the file in a problem (the steward's own header, the Excel cell, the row's subject)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.foundation.problems import LISTED_PER_RULE, Problem, per_row

ROW = "source_row"  # spreadsheet row number (or CSV line) of each data row


@dataclass
class UploadRows:
    path: Path
    frame: pl.DataFrame | None = None  # canonical typed columns + source_row
    sheet: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> as written
    letters: dict[str, str] = field(default_factory=dict)  # canonical -> column letter
    subject_column: str | None = None  # names the row in messages
    _subjects: dict[int, str] | None = field(default=None, repr=False)

    def problem(
        self,
        message: str,
        action: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        severity: str = "erreur",
        check: str = "validation",
        kind: str = "contenu",
    ) -> Problem:
        """A problem located in this upload; `column` is canonical and shown as the steward wrote it."""
        letter = self.letters.get(column or "")
        return Problem(
            message,
            action,
            file=self.path.name,
            sheet=self.sheet,
            row=row,
            column=self.headers.get(column or "", column),
            cell=f"{letter}{row}" if letter and row is not None else None,
            value=None if value is None else str(value),
            severity=severity,
            check=check,
            subject=self.subject(row),
            kind=kind,
        )

    def subject(self, row: int | None) -> str | None:
        """What the row is about, as the file names it (« Pharmacie du Centre »)."""
        if (
            row is None
            or not self.subject_column
            or self.frame is None
            or self.subject_column not in self.frame.columns
        ):
            return None
        if self._subjects is None:
            named = self.frame.select(ROW, self.subject_column).drop_nulls()
            self._subjects = dict(named.iter_rows())
        return self._subjects.get(row)

    def problems_for(self, failing: pl.DataFrame, make, *, limit: int = LISTED_PER_RULE) -> list[Problem]:
        """One problem per failing row (named tuples of `failing`), capped, the rest counted."""
        return per_row(failing.head(limit).iter_rows(named=True), failing.height, make, limit=limit)


def rows_of(frame: pl.DataFrame, rows: Iterable[int]) -> pl.DataFrame:
    return frame.filter(pl.col(ROW).is_in(list(rows)))
