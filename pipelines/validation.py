"""From an uploaded file to a typed, validated frame and a list of problems.

pre-flight -> read as text -> find the header -> drop personal data -> parse values -> pandera
model -> the unit's cross-row and reference rules. Nothing here writes anywhere: a rejected file
cannot change the warehouse because validation is over before anything is loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import polars as pl

from pipelines.ingest.headers import HeaderMatch, build_vocabulary, locate_header
from pipelines.ingest.preflight import check_upload
from pipelines.ingest.readers import Grid, choose_sheet, read_csv, read_xlsx
from pipelines.ingest.values import value_parser
from pipelines.problems import Problem, errors
from pipelines.reference import ReferenceData
from pipelines.settings import Settings
from pipelines.source import SourceUnit

ROW = "source_row"  # spreadsheet row number (or CSV line) of each data row


@dataclass
class ParsedUpload:
    path: Path
    unit: SourceUnit
    sha256: str
    size: int
    modified_at: dt.datetime
    problems: list[Problem] = field(default_factory=list)
    frame: pl.DataFrame | None = None  # canonical typed columns + source_row
    sheet: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> as written
    letters: dict[str, str] = field(default_factory=dict)  # canonical -> column letter
    ignored_columns: list[str] = field(default_factory=list)
    period: dt.date | None = None

    @property
    def accepted(self) -> bool:
        return not errors(self.problems) and self.frame is not None

    @property
    def rows(self) -> int:
        return 0 if self.frame is None else self.frame.height

    def problem(self, message: str, action: str, *, row: int | None = None, column: str | None = None,
                value: object = None, severity: str = "erreur", check: str = "validation") -> Problem:
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
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def parse_upload(path: Path, unit: SourceUnit, reference: ReferenceData, settings: Settings) -> ParsedUpload:
    stat = path.stat()
    upload = ParsedUpload(
        path=path,
        unit=unit,
        sha256=file_sha256(path),
        size=stat.st_size,
        modified_at=dt.datetime.fromtimestamp(stat.st_mtime),
    )
    frame = _read_rows(upload, unit, settings)
    if frame is None:
        return upload
    typed, value_problems = _parse_values(upload, frame, unit)
    upload.problems.extend(value_problems)
    upload.problems.extend(_schema_problems(upload, typed, unit))
    upload.frame = typed
    if unit.check_rows and not errors(upload.problems):
        upload.problems.extend(unit.check_rows(upload, reference))
    upload.period = unit.upload_period(path, typed)
    if upload.period is None:
        upload.problems.append(
            upload.problem(
                f"Impossible de déterminer la {unit.period_label} de ce fichier.",
                "Commencez le nom du fichier par l'année et le mois (par exemple « 2024-06 enquete.xlsx »).",
                check="periode",
            )
        )
    return upload


def _read_rows(upload: ParsedUpload, unit: SourceUnit, settings: Settings) -> pl.DataFrame | None:
    """Preflight, reader, header: the data rows as text (canonical columns), or None with problems."""
    path = upload.path
    preflight = check_upload(path, settings)
    if preflight.problems:
        upload.problems = preflight.problems
        return None

    vocabulary = build_vocabulary({c.name: c.headers for c in unit.columns})
    try:
        if preflight.kind == "xlsx":
            sheet = choose_sheet(list(preflight.sheet_parts), unit.sheet_names)
            grid = read_xlsx(path, sheet)
        else:
            grid, _, _ = read_csv(path, lambda rows: _header_index(rows, vocabulary))
    except Exception as error:  # noqa: BLE001 - a reader failure is the steward's problem to fix, in French
        upload.problems = [
            Problem(
                f"Le fichier n'a pas pu être lu ({type(error).__name__}).",
                "Ouvrez-le dans Excel, enregistrez-le à nouveau (.xlsx ou .csv) puis déposez-le.",
                file=path.name,
                check="lecture",
            )
        ]
        return None
    upload.sheet = grid.sheet

    match = locate_header(grid.head_rows(), vocabulary)
    if match is None or not _structure_is_sound(upload, unit, match):
        if match is None:
            upload.problems.append(_no_header_problem(upload, unit))
        return None
    upload.headers = match.originals
    upload.letters = {name: grid.column_letters[index] for name, index in match.columns.items()}
    upload.ignored_columns = match.ignored

    frame = _data_rows(grid, match, unit)
    if frame.height == 0:
        upload.problems.append(
            upload.problem(
                "Le fichier ne contient aucune ligne de données sous la ligne d'en-tête.",
                "Vérifiez que vous avez déposé le fichier rempli et non le modèle vide.",
                row=grid.first_row + match.row_index,
            )
        )
        return None
    if frame.height > settings.max_rows:
        upload.problems.append(
            upload.problem(
                f"Le fichier contient {frame.height} lignes, au-delà du maximum de {settings.max_rows}.",
                "Découpez-le en plusieurs fichiers.",
            )
        )
        return None
    return frame


def months_in_file(path: Path, unit: SourceUnit, settings: Settings) -> set[str]:
    """The months ("YYYY-MM") a file of a monthly source holds, read cheaply (one column parsed, no
    validation), so that a run can be launched for exactly the month partitions it touches.
    Empty when the file cannot be read: its validation run will say why."""
    if unit.monthly is None:
        return set()
    upload = ParsedUpload(path=path, unit=unit, sha256="", size=0, modified_at=dt.datetime.now())
    try:
        frame = _read_rows(upload, unit, settings)
    except Exception:  # noqa: BLE001 - whatever is wrong is reported by the validation run
        return set()
    if frame is None or errors(upload.problems):
        return set()
    column = next(c for c in unit.columns if c.name == unit.monthly.column)
    months = _parse_distinct(frame[column.name].drop_nulls().unique(), value_parser(column))
    return set(months.dt.strftime("%Y-%m").drop_nulls().to_list())


def _header_index(rows: list[list[str]], vocabulary: dict[str, str]) -> int:
    match = locate_header(rows, vocabulary)
    return match.row_index if match else 0


def _no_header_problem(upload: ParsedUpload, unit: SourceUnit) -> Problem:
    expected = ", ".join(f"« {c.headers[0]} »" for c in unit.columns if c.required)
    return upload.problem(
        "Aucune ligne d'en-tête reconnue dans les premières lignes du fichier.",
        f"La première ligne du tableau doit porter les intitulés de colonnes, dont {expected}.",
        check="entetes",
    )


def _structure_is_sound(upload: ParsedUpload, unit: SourceUnit, match: HeaderMatch) -> bool:
    for column in unit.columns:
        if column.required and column.name not in match.columns:
            variants = " ; ".join(f"« {h} »" for h in column.headers)
            upload.problems.append(
                upload.problem(
                    f"La colonne obligatoire « {column.label} » est absente.",
                    f"Ajoutez une colonne intitulée par exemple {variants}.",
                    column=column.name,
                    check="colonne_obligatoire",
                )
            )
    for canonical, headers in match.duplicates.items():
        upload.problems.append(
            upload.problem(
                f"Plusieurs colonnes désignent la même information : {', '.join(f'« {h} »' for h in headers)}.",
                "Gardez une seule de ces colonnes.",
                column=canonical,
                check="colonne_en_double",
            )
        )
    return not errors(upload.problems)


def _data_rows(grid: Grid, match: HeaderMatch, unit: SourceUnit) -> pl.DataFrame:
    """Rows below the header, canonical columns only; personal and unknown columns never leave here."""
    kept = [c for c in unit.stored_columns if c.name in match.columns]
    start = match.row_index + 1
    frame = grid.frame.slice(start).select(
        *(pl.col(f"c{match.columns[c.name]}").alias(c.name) for c in kept),
        (pl.int_range(pl.len(), dtype=pl.Int64) + grid.first_row + start).alias(ROW),
    )
    for column in unit.stored_columns:
        if column.name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column.name))
    filled = pl.any_horizontal(pl.col(c.name).str.contains(r"\S") for c in unit.stored_columns)
    return frame.filter(filled.fill_null(False))  # rows with only empty or blank cells are not data


def _parse_values(upload: ParsedUpload, frame: pl.DataFrame, unit: SourceUnit) -> tuple[pl.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    parsers = {c.name: value_parser(c) for c in unit.stored_columns}
    typed = frame.select(ROW, *(_parse_distinct(frame[c.name], parsers[c.name]) for c in unit.stored_columns))
    for column in unit.stored_columns:
        # only the cells without a value are looked at again: empty, or written but not understood
        without_value = frame.filter(typed[column.name].is_null()).select(
            ROW, pl.col(column.name).str.strip_chars().fill_null("")
        )
        unparsed = without_value.filter(pl.col(column.name) != "")
        for row, value in unparsed.head(500).iter_rows():
            problems.append(
                upload.problem(
                    f"La valeur n'est pas reconnue comme {parsers[column.name].described}.",
                    f"Saisissez {parsers[column.name].expected}.",
                    row=row,
                    column=column.name,
                    value=value,
                    check=f"format_{column.kind}",
                )
            )
        if not column.nullable:
            for (row,) in without_value.filter(pl.col(column.name) == "").select(ROW).head(500).iter_rows():
                problems.append(
                    upload.problem(
                        f"La valeur « {column.label} » est obligatoire sur chaque ligne.",
                        "Complétez la cellule ou supprimez la ligne.",
                        row=row,
                        column=column.name,
                        check="valeur_obligatoire",
                    )
                )
    return typed, problems


def _parse_distinct(cells: pl.Series, kind) -> pl.Series:
    def parse(column: pl.Expr) -> pl.Expr:
        return kind.parse(column).cast(kind.dtype)

    if not kind.castable:
        return per_distinct_value(cells, parse)
    cast = cells.cast(kind.dtype, strict=False)
    rest = cast.is_null() & cells.is_not_null()  # "1 234", "12.0"…: the full parser's job
    if not rest.any():
        return cast
    return cast.scatter(rest.arg_true(), per_distinct_value(cells.filter(rest), parse))


def per_distinct_value(cells: pl.Series, transform: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`transform` applied to each distinct value once, then mapped back to every row: months,
    levels and codes repeat over hundreds of thousands of rows, and the parsers try several
    formats (a national extract is parsed several times faster this way). Mostly distinct values
    (counts) are transformed directly, which is cheaper for them."""
    distinct = cells.drop_nulls().unique()
    if distinct.len() > cells.len() // 4:
        return cells.to_frame().select(transform(pl.col(cells.name))).to_series().alias(cells.name)
    transformed = distinct.to_frame().select(transform(pl.col(cells.name))).to_series()
    return cells.replace_strict(distinct, transformed, default=None, return_dtype=transformed.dtype).alias(cells.name)


_BUILTIN_CHECKS = (
    (r"field_uniqueness|unique", "La même valeur apparaît sur plusieurs lignes ({rows}).",
     "Gardez une seule ligne par {label} (supprimez les doublons)."),
    (r"greater_than_or_equal_to\((.*)\)", "La valeur doit être supérieure ou égale à {arg}.", "Corrigez la valeur."),
    (r"greater_than\((.*)\)", "La valeur doit être strictement supérieure à {arg}.", "Corrigez la valeur."),
    (r"less_than_or_equal_to\((.*)\)", "La valeur doit être inférieure ou égale à {arg}.", "Corrigez la valeur."),
    (r"in_range\((.*)\)", "La valeur doit être comprise dans l'intervalle {arg}.", "Corrigez la valeur."),
    (r"isin\((.*)\)", "La valeur ne fait pas partie des valeurs admises {arg}.", "Utilisez l'une des valeurs admises."),
    (r"str_matches\((.*)\)", "La valeur n'a pas le format attendu.", "Corrigez la valeur."),
    (r"not_nullable", "La valeur est obligatoire.", "Complétez la cellule."),
)


def _schema_problems(upload: ParsedUpload, typed: pl.DataFrame, unit: SourceUnit) -> list[Problem]:
    """Run the unit's pandera model (eager, so data checks run) and turn its failures into problems."""
    import pandera.errors
    import pandera.polars  # noqa: F401 - registers the polars backend

    try:
        unit.schema.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as failure:
        cases = failure.failure_cases
    except pandera.errors.SchemaError as failure:  # a single structural failure
        cases = failure.failure_cases if isinstance(failure.failure_cases, pl.DataFrame) else None
        if cases is None:
            return [upload.problem(f"Le tableau ne respecte pas le schéma attendu ({failure}).", "Contactez l'équipe données.")]
    else:
        return []
    labels = {c.name: c.label for c in unit.columns}
    rows_by_index = typed[ROW]
    problems = []
    grouped: dict[tuple[str, str], list[tuple[int | None, str]]] = {}
    for case in cases.iter_rows(named=True):
        index = case.get("index")
        row = int(rows_by_index[int(index)]) if index is not None else None
        grouped.setdefault((case.get("column") or "", case["check"]), []).append((row, case["failure_case"]))
    for (column, check), failures in grouped.items():
        message, action = _describe_check(check, labels.get(column, column))
        rows = [r for r, _ in failures if r is not None]
        for row, value in failures[:500]:
            others = [str(r) for r in rows if r != row][:10]
            problems.append(
                upload.problem(
                    message.format(rows="aussi ligne(s) " + ", ".join(others) if others else "doublon"),
                    action,
                    row=row,
                    column=column or None,
                    value=value,
                    check=check if len(check) < 60 else "schema",
                )
            )
    return problems


def _describe_check(check: str, label: str) -> tuple[str, str]:
    for pattern, message, action in _BUILTIN_CHECKS:
        found = re.fullmatch(pattern, check)
        if found:
            argument = found.group(1) if found.groups() else ""
            return message.replace("{arg}", argument), action.replace("{label}", label)
    if " → " in check:  # a unit's own check: error="message → action"
        message, action = check.split(" → ", 1)
        return message.replace("{", "{{").replace("}", "}}"), action
    return f"Règle non respectée : {check}.".replace("{", "{{").replace("}", "}}"), "Corrigez la valeur."
