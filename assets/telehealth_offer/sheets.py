"""The other sheets of a telehealth workbook: the offer, the acts, the summary.

The shared parser reads one sheet per upload (the structures, here). The offer and the acts are
sheets of the same workbook, with their own columns: they are read here with the same pieces the
shared parser uses (the xlsx reader, header matching, the columns' value kinds and choice words,
problems located by sheet, row, column and cell), once per file, and handed to the unit's
derivation (which attaches their rows to the upload) and to its rules (which report their problems).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.contract import (
    ROW,
    Column,
    Problem,
    ReferenceData,
    UploadRows,
    per_distinct_value,
    read_xlsx,
    word_key,
    workbook_sheet_names,
)
from pipelines.ingest.headers import build_vocabulary, locate_header

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class Sheet:
    """A sheet of the workbook besides the main one: the names it goes by, and its columns."""

    names: tuple[str, ...]  # compared by their key; the first is the name shown to stewards
    columns: tuple[Column, ...]
    subject_column: str | None = None  # names a row in messages

    @property
    def name(self) -> str:
        return self.names[0]

    def empty_frame(self, reference: ReferenceData) -> pl.DataFrame:
        return pl.DataFrame(
            schema={ROW: pl.Int64, **{c.name: c.parser(reference).dtype for c in self.columns}},
        )


@dataclass
class SheetRows:
    """One sheet as read: its typed rows (all of them), where each column is, and its problems."""

    rows: UploadRows
    found: bool = False
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[int] = field(default_factory=set)  # rows with a cell that could not be read

    @property
    def frame(self) -> pl.DataFrame:
        return self.rows.frame

    @property
    def complete(self) -> pl.DataFrame:
        """The rows whose values were all read: the cross-row rules look at these only."""
        return self.frame.filter(~pl.col(ROW).is_in(sorted(self.unreadable)))


def find_sheet(path: Path, spec: Sheet, main_sheet: str | None) -> str | None:
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        return None
    wanted = {word_key(name) for name in spec.names}
    return next((s for s in workbook_sheet_names(path) if s != main_sheet and word_key(s) in wanted), None)


def read_sheet(path: Path, spec: Sheet, reference: ReferenceData, main_sheet: str | None) -> SheetRows:
    """The sheet's typed rows and problems; an absent sheet gives no rows and no problem (the rules
    decide whether its absence matters)."""
    sheet = find_sheet(path, spec, main_sheet)
    result = SheetRows(UploadRows(path, spec.empty_frame(reference), sheet, subject_column=spec.subject_column))
    if sheet is None:
        return result
    result.found = True
    grid = read_xlsx(path, sheet)
    match = locate_header(grid.head_rows(), build_vocabulary({c.name: c.headers for c in spec.columns}))
    rows = result.rows
    if match is None:
        expected = ", ".join(f"« {c.headers[0]} »" for c in spec.columns if c.required)
        result.problems.append(
            rows.problem(
                f"Aucune ligne d'en-tête reconnue dans la feuille « {sheet} ».",
                f"La première ligne du tableau de cette feuille doit porter les intitulés de colonnes, dont {expected}.",
                check="entetes",
                kind="structure",
            )
        )
        return result
    rows.headers = match.originals
    rows.letters = {name: grid.column_letters[index] for name, index in match.columns.items()}
    header_row = grid.first_row + match.row_index
    for column in spec.columns:
        if column.required and column.name not in match.columns:
            variants = " ; ".join(f"« {h} »" for h in column.headers)
            result.problems.append(
                rows.problem(
                    f"La colonne obligatoire « {column.label} » est absente de la feuille « {sheet} ».",
                    f"Ajoutez une colonne intitulée par exemple {variants}.",
                    row=header_row,
                    column=column.name,
                    check="colonne_obligatoire",
                    kind="structure",
                )
            )
    labels = {c.name: c.label for c in spec.columns}
    for canonical, headers in match.duplicates.items():
        result.problems.append(
            rows.problem(
                f"Plusieurs colonnes désignent la même information ({labels[canonical]}) : "
                f"{', '.join(f'« {h} »' for h in headers)}.",
                "Gardez une seule de ces colonnes.",
                row=header_row,
                column=canonical,
                check="colonne_en_double",
                kind="structure",
            )
        )
    if result.problems:
        return result

    start = match.row_index + 1
    present = [c for c in spec.columns if c.name in match.columns]
    text = grid.frame.slice(start).select(
        *(pl.col(f"c{match.columns[c.name]}").alias(c.name) for c in present),
        (pl.int_range(pl.len(), dtype=pl.Int64) + grid.first_row + start).alias(ROW),
    )
    text = text.with_columns(pl.lit(None, dtype=pl.String).alias(c.name) for c in spec.columns if c not in present)
    filled = pl.any_horizontal(pl.col(c.name).str.contains(r"\S") for c in spec.columns)
    text = text.filter(filled.fill_null(False))  # blank rows are not data
    _parse(result, spec, text, reference)
    return result


def _parse(result: SheetRows, spec: Sheet, text: pl.DataFrame, reference: ReferenceData) -> None:
    """Typed columns, and a problem per cell written but not understood, or empty where required."""
    rows = result.rows
    kinds = {c.name: c.parser(reference) for c in spec.columns}
    typed = text.select(
        ROW,
        *(
            per_distinct_value(text[c.name], lambda e, kind=kinds[c.name]: kind.parse(e).cast(kind.dtype))
            for c in spec.columns
        ),
    )
    rows.frame = typed  # first: problems name their row's subject from it
    for column in spec.columns:
        kind = kinds[column.name]
        without_value = text.filter(typed[column.name].is_null()).select(
            ROW, pl.col(column.name).str.strip_chars().fill_null("")
        )
        unparsed = without_value.filter(pl.col(column.name) != "")
        result.unreadable.update(unparsed[ROW].to_list())
        result.problems += rows.problems_for(
            unparsed,
            lambda r, column=column, kind=kind: rows.problem(
                f"La valeur n'est pas reconnue comme {kind.described}.",
                f"Saisissez {kind.expected}.",
                row=r[ROW],
                column=column.name,
                value=r[column.name],
                check=f"format_{column.kind}",
            ),
        )
        if not column.nullable:
            empty = without_value.filter(pl.col(column.name) == "")
            result.unreadable.update(empty[ROW].to_list())
            result.problems += rows.problems_for(
                empty,
                lambda r, column=column: rows.problem(
                    f"La valeur « {column.label} » est obligatoire sur chaque ligne.",
                    "Complétez la cellule ou supprimez la ligne.",
                    row=r[ROW],
                    column=column.name,
                    check="valeur_obligatoire",
                ),
            )


# --- a summary sheet: declared totals ----------------------------------------------------------------
