"""From a sheet's text to typed rows and every problem they have: the one reading every table goes through.

The validation of an upload reads its main table with these pieces, and a unit whose workbook has
further sheets (the telehealth offer and acts) reads them with `read_sheet`: the same header
matching, the same problems for a missing or doubled column, the same value parsing and messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.contract.rows import ROW, UploadRows
from pipelines.contract.unit import Column
from pipelines.foundation.problems import Problem
from pipelines.foundation.text import word_key
from pipelines.ingest.headers import HeaderMatch, build_vocabulary, locate_header
from pipelines.ingest.readers import Grid, read_xlsx, workbook_sheet_names
from pipelines.ingest.values import ValueKind, per_distinct_value
from pipelines.reference.tables import ReferenceData

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def vocabulary_of(columns: Sequence[Column]) -> dict[str, str]:
    return build_vocabulary({c.name: c.headers for c in columns})


def no_header_problem(rows: UploadRows, columns: Sequence[Column], where: str) -> Problem:
    """`where`: « dans les premières lignes du fichier », « dans la feuille « Offre » »."""
    expected = ", ".join(f"« {c.headers[0]} »" for c in columns if c.required)
    return rows.problem(
        f"Aucune ligne d'en-tête reconnue {where}.",
        f"La première ligne du tableau doit porter les intitulés de colonnes, dont {expected}.",
        check="entetes",
        kind="structure",
    )


def header_problems(
    rows: UploadRows, columns: Sequence[Column], match: HeaderMatch, header_row: int, where: str = ""
) -> list[Problem]:
    """Merged, missing or doubled columns; `where` (« de la feuille « Offre » ») completes the message."""
    labels = {c.name: c.label for c in columns}
    problems = [
        Problem(
            f"Cette cellule d'en-tête réunit plusieurs colonnes ({', '.join(f'« {labels[c]} »' for c in joined)}) : "
            "chaque information doit avoir sa propre colonne.",
            "Séparez-la en autant de colonnes, chacune avec son intitulé et ses valeurs.",
            file=rows.path.name,
            sheet=rows.sheet,
            row=header_row,
            column=text,
            check="entete_fusionnee",
            kind="structure",
        )
        for text, joined in match.merged.items()
    ]
    merged = {c for joined in match.merged.values() for c in joined}
    for column in columns:
        if column.required and column.name not in match.columns and column.name not in merged:
            variants = " ; ".join(f"« {h} »" for h in column.headers)
            problems.append(
                rows.problem(
                    f"La colonne obligatoire « {column.label} » est absente{' ' + where if where else ''}.",
                    f"Ajoutez une colonne intitulée par exemple {variants}.",
                    row=header_row,
                    column=column.name,
                    check="colonne_obligatoire",
                    kind="structure",
                )
            )
    for canonical, headers in match.duplicates.items():
        problems.append(
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
    return problems


def text_rows(grid: Grid, match: HeaderMatch, columns: Sequence[Column]) -> pl.DataFrame:
    """Rows below the header as text, these columns only (every other column never leaves here), an
    absent one empty; rows with only empty or blank cells are not data."""
    start = match.row_index + 1
    present = [c for c in columns if c.name in match.columns]
    frame = grid.frame.slice(start).select(
        *(pl.col(f"c{match.columns[c.name]}").alias(c.name) for c in present),
        (pl.int_range(pl.len(), dtype=pl.Int64) + grid.first_row + start).alias(ROW),
    )
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c.name) for c in columns if c not in present)
    filled = pl.any_horizontal(pl.col(c.name).str.contains(r"\S") for c in columns)
    return frame.filter(filled.fill_null(False))


def parse_distinct(cells: pl.Series, kind: ValueKind) -> pl.Series:
    """The typed column: plainly written values cast directly, the others parsed once per distinct text."""

    def parse(column: pl.Expr) -> pl.Expr:
        return kind.parse(column).cast(kind.dtype)

    if not kind.castable:
        return per_distinct_value(cells, parse)
    cast = cells.cast(kind.dtype, strict=False)
    rest = cast.is_null() & cells.is_not_null()  # "1 234", "12.0"…: the full parser's job
    if not rest.any():
        return cast
    return cast.scatter(rest.arg_true(), per_distinct_value(cells.filter(rest), parse))


def typed_rows(
    rows: UploadRows, text: pl.DataFrame, columns: Sequence[Column], reference: ReferenceData
) -> tuple[list[Problem], set[int]]:
    """Type the text into `rows.frame`; a problem per cell written but not understood (or empty where a
    value is required), and the rows holding such a cell."""
    problems: list[Problem] = []
    unreadable: set[int] = set()
    kinds = {c.name: c.parser(reference) for c in columns}
    typed = text.select(ROW, *(parse_distinct(text[c.name], kinds[c.name]) for c in columns))
    rows.frame = typed  # first: a problem names its row's subject from the typed values
    for column in columns:
        kind = kinds[column.name]
        # only the cells without a value are looked at again: empty, or written but not understood
        without_value = text.filter(typed[column.name].is_null()).select(
            ROW, pl.col(column.name).str.strip_chars().fill_null("")
        )
        unparsed = without_value.filter(pl.col(column.name) != "")
        unreadable.update(unparsed[ROW].to_list())
        problems += rows.problems_for(
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
            unreadable.update(empty[ROW].to_list())
            problems += rows.problems_for(
                empty,
                lambda r, column=column: rows.problem(
                    f"La valeur « {column.label} » est obligatoire sur chaque ligne.",
                    "Complétez la cellule ou supprimez la ligne.",
                    row=r[ROW],
                    column=column.name,
                    check="valeur_obligatoire",
                ),
            )
    return problems, unreadable


# --- a further sheet of a workbook ---------------------------------------------------------------------


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
        return pl.DataFrame(schema={ROW: pl.Int64, **{c.name: c.parser(reference).dtype for c in self.columns}})


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
    """The sheet's typed rows and problems; an absent sheet gives no rows and no problem (the unit's
    rules decide whether its absence matters)."""
    sheet = find_sheet(path, spec, main_sheet)
    result = SheetRows(UploadRows(path, spec.empty_frame(reference), sheet, subject_column=spec.subject_column))
    if sheet is None:
        return result
    result.found = True
    grid = read_xlsx(path, sheet)
    match = locate_header(grid.head_rows(), vocabulary_of(spec.columns))
    rows = result.rows
    if match is None:
        result.problems.append(no_header_problem(rows, spec.columns, f"dans la feuille « {sheet} »"))
        return result
    rows.headers = match.originals
    rows.letters = {name: grid.column_letters[index] for name, index in match.columns.items()}
    header_row = grid.first_row + match.row_index
    result.problems += header_problems(rows, spec.columns, match, header_row, f"de la feuille « {sheet} »")
    if result.problems:
        return result
    problems, result.unreadable = typed_rows(rows, text_rows(grid, match, spec.columns), spec.columns, reference)
    result.problems += problems
    return result
