"""From an uploaded file to a typed, validated frame and the list of every problem it has.

pre-flight -> read as text -> find the header -> drop personal data -> parse values -> the unit's
derived columns -> pandera model -> the unit's rules. Every problem of a file is found in one
pass: format, value and rule problems together (rows whose values could not be read are left out
of the rule checks, and the report says so). Nothing here writes anywhere: a rejected file cannot
change the warehouse because validation is over before anything is loaded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.contract.rows import ROW, UploadRows
from pipelines.contract.unit import Column, SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.problems import LISTED_PER_RULE, Problem, errors, per_row
from pipelines.foundation.settings import Limits
from pipelines.ingest.headers import HeaderMatch, build_vocabulary, locate_header
from pipelines.ingest.preflight import check_upload
from pipelines.ingest.readers import Grid, choose_sheet, read_csv, read_xlsx
from pipelines.ingest.values import ValueKind, per_distinct_value
from pipelines.reference.tables import ReferenceData


@dataclass
class ParsedUpload(UploadRows):
    unit: SourceUnit | None = None
    sha256: str = ""
    size: int = 0
    modified_at: dt.datetime | None = None
    problems: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    period: dt.date | None = None
    rows_left_out_of_rules: int = 0  # rows whose values could not be read
    sheet_cells: int = 0  # rows x columns of the sheet as read (bounds the annotated copy)

    @property
    def accepted(self) -> bool:
        return not errors(self.problems) and self.frame is not None

    @property
    def rows(self) -> int:
        return 0 if self.frame is None else self.frame.height

    @property
    def warnings_only(self) -> bool:
        return self.accepted and bool(self.problems)


def parse_upload(
    path: Path, unit: SourceUnit, reference: ReferenceData, limits: Limits, sha256: str | None = None
) -> ParsedUpload:
    stat = path.lstat()
    upload = ParsedUpload(
        path=path,
        unit=unit,
        sha256=sha256 or (file_sha256(path) if path.is_file() and not path.is_symlink() else ""),
        size=stat.st_size,
        modified_at=dt.datetime.fromtimestamp(stat.st_mtime),
        subject_column=unit.subject_column,
    )
    frame = _read_rows(upload, unit, limits)
    if frame is None:
        return upload
    typed, value_problems, unreadable_rows = _parse_values(upload, frame, unit, reference)
    upload.problems.extend(value_problems)
    upload.frame = typed
    if unit.derive is not None:
        typed = unit.derive(upload, reference)
        upload.frame = typed
    upload.problems.extend(_schema_problems(upload, typed, unit, unreadable_rows))
    if unit.rules:
        upload.problems.extend(_rule_problems(upload, unit, reference, unreadable_rows))
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


def _rule_problems(
    upload: ParsedUpload, unit: SourceUnit, reference: ReferenceData, unreadable_rows: set[int]
) -> list[Problem]:
    """The unit's rules, on the rows whose values were all read (the others are counted, and named)."""
    complete = upload.frame
    if unreadable_rows:
        complete = upload.frame.filter(~pl.col(ROW).is_in(sorted(unreadable_rows)))
    checked = ParsedUpload(
        path=upload.path,
        frame=complete,
        sheet=upload.sheet,
        headers=upload.headers,
        letters=upload.letters,
        subject_column=upload.subject_column,
        unit=unit,
        sha256=upload.sha256,
    )
    problems = [p for rule in unit.rules for p in rule(checked, reference)]
    upload.rows_left_out_of_rules = len(unreadable_rows)
    if unreadable_rows:
        shown = ", ".join(str(r) for r in sorted(unreadable_rows)[:20])
        more = f" et {len(unreadable_rows) - 20} autre(s)" if len(unreadable_rows) > 20 else ""
        problems.append(
            Problem(
                f"{len(unreadable_rows)} ligne(s) dont une valeur n'a pas pu être lue (lignes {shown}{more}) n'ont pas "
                "été soumises aux contrôles de cohérence (doublons, référentiels, règles entre colonnes).",
                "Corrigez d'abord les valeurs signalées : ces contrôles porteront sur ces lignes au prochain dépôt.",
                file=upload.path.name,
                sheet=upload.sheet,
                severity="avertissement",
                check="lignes_non_controlees",
            )
        )
    return sorted(problems, key=lambda p: (p.row is None, p.row or 0, p.column or ""))


# --- reading: pre-flight, reader, header -----------------------------------------------------------


def _read_rows(upload: ParsedUpload, unit: SourceUnit, limits: Limits) -> pl.DataFrame | None:
    """Preflight, reader, header: the data rows as text (canonical columns), or None with problems."""
    path = upload.path
    preflight = check_upload(path, limits)
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
    except Exception as error:
        upload.problems = [
            Problem(
                f"Le fichier n'a pas pu être lu ({type(error).__name__}).",
                "Ouvrez-le dans Excel, enregistrez-le à nouveau (.xlsx ou .csv) puis déposez-le.",
                file=path.name,
                check="lecture",
                kind="structure",
            )
        ]
        return None
    upload.sheet = grid.sheet
    upload.sheet_cells = grid.frame.height * grid.frame.width

    match = locate_header(grid.head_rows(), vocabulary)
    if match is None:
        upload.problems.append(_no_header_problem(upload, unit))
        return None
    upload.headers = match.originals
    upload.letters = {name: grid.column_letters[index] for name, index in match.columns.items()}
    upload.ignored_columns = match.ignored
    header_row = grid.first_row + match.row_index
    if not _structure_is_sound(upload, unit, match, header_row):
        return None

    frame = _data_rows(grid, match, unit)
    if frame.height == 0:
        upload.problems.append(
            upload.problem(
                "Le fichier ne contient aucune ligne de données sous la ligne d'en-tête.",
                "Vérifiez que vous avez déposé le fichier rempli et non le modèle vide.",
                row=header_row,
                kind="structure",
            )
        )
        return None
    if frame.height > limits.max_rows:
        upload.problems.append(
            upload.problem(
                f"Le fichier contient {frame.height} lignes, au-delà du maximum de {limits.max_rows}.",
                "Découpez-le en plusieurs fichiers.",
                kind="structure",
            )
        )
        return None
    return frame


def _header_index(rows: list[list[str]], vocabulary: dict[str, str]) -> tuple[int, int]:
    match = locate_header(rows, vocabulary)
    return (match.row_index, len(match.columns)) if match else (0, 0)


def _no_header_problem(upload: ParsedUpload, unit: SourceUnit) -> Problem:
    expected = ", ".join(f"« {c.headers[0]} »" for c in unit.columns if c.required)
    return upload.problem(
        "Aucune ligne d'en-tête reconnue dans les premières lignes du fichier.",
        f"La première ligne du tableau doit porter les intitulés de colonnes, dont {expected}.",
        check="entetes",
        kind="structure",
    )


def _structure_is_sound(upload: ParsedUpload, unit: SourceUnit, match: HeaderMatch, header_row: int) -> bool:
    labels = {c.name: c.label for c in unit.columns}
    for text, joined in match.merged.items():
        upload.problems.append(
            Problem(
                f"Cette cellule d'en-tête réunit plusieurs colonnes ({', '.join(f'« {labels[c]} »' for c in joined)}) : "
                "chaque information doit avoir sa propre colonne.",
                "Séparez-la en autant de colonnes, chacune avec son intitulé et ses valeurs.",
                file=upload.path.name,
                sheet=upload.sheet,
                row=header_row,
                column=text,
                check="entete_fusionnee",
                kind="structure",
            )
        )
    merged = {c for joined in match.merged.values() for c in joined}
    for column in unit.columns:
        if column.required and column.name not in match.columns and column.name not in merged:
            variants = " ; ".join(f"« {h} »" for h in column.headers)
            upload.problems.append(
                upload.problem(
                    f"La colonne obligatoire « {column.label} » est absente.",
                    f"Ajoutez une colonne intitulée par exemple {variants}.",
                    row=header_row,
                    column=column.name,
                    check="colonne_obligatoire",
                    kind="structure",
                )
            )
    for canonical, headers in match.duplicates.items():
        upload.problems.append(
            upload.problem(
                f"Plusieurs colonnes désignent la même information ({labels[canonical]}) : "
                f"{', '.join(f'« {h} »' for h in headers)}.",
                "Gardez une seule de ces colonnes.",
                row=header_row,
                column=canonical,
                check="colonne_en_double",
                kind="structure",
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


# --- values ----------------------------------------------------------------------------------------


def _parse_values(
    upload: ParsedUpload, frame: pl.DataFrame, unit: SourceUnit, reference: ReferenceData
) -> tuple[pl.DataFrame, list[Problem], set[int]]:
    """The typed frame, a problem per cell written but not understood (or empty where a value is
    required), and the rows holding such a cell."""
    problems: list[Problem] = []
    unreadable: set[int] = set()
    parsers = {c.name: c.parser(reference) for c in unit.stored_columns}
    typed = frame.select(ROW, *(parse_distinct(frame[c.name], parsers[c.name]) for c in unit.stored_columns))
    upload.frame = typed  # a problem names its row's subject from the typed values
    for column in unit.stored_columns:
        # only the cells without a value are looked at again: empty, or written but not understood
        without_value = frame.filter(typed[column.name].is_null()).select(
            ROW, pl.col(column.name).str.strip_chars().fill_null("")
        )
        unparsed = without_value.filter(pl.col(column.name) != "")
        unreadable.update(unparsed[ROW].to_list())
        problems += _cell_problems(upload, column, parsers[column.name], unparsed)
        if not column.nullable:
            empty = without_value.filter(pl.col(column.name) == "")
            unreadable.update(empty[ROW].to_list())
            problems += upload.problems_for(
                empty,
                lambda r, column=column: upload.problem(
                    f"La valeur « {column.label} » est obligatoire sur chaque ligne.",
                    "Complétez la cellule ou supprimez la ligne.",
                    row=r[ROW],
                    column=column.name,
                    check="valeur_obligatoire",
                ),
            )
    return typed, problems, unreadable


def _cell_problems(upload: ParsedUpload, column: Column, kind: ValueKind, unparsed: pl.DataFrame) -> list[Problem]:
    return upload.problems_for(
        unparsed,
        lambda r: upload.problem(
            f"La valeur n'est pas reconnue comme {kind.described}.",
            f"Saisissez {kind.expected}.",
            row=r[ROW],
            column=column.name,
            value=r[column.name],
            check=f"format_{column.kind}",
        ),
    )


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


# --- the pandera model -----------------------------------------------------------------------------

_BUILTIN_CHECKS = (
    (
        r"field_uniqueness|unique",
        "La même valeur apparaît sur plusieurs lignes ({rows}).",
        "Gardez une seule ligne par {label} (supprimez les doublons).",
    ),
    (r"greater_than_or_equal_to\((.*)\)", "La valeur doit être supérieure ou égale à {arg}.", "Corrigez la valeur."),
    (r"greater_than\((.*)\)", "La valeur doit être strictement supérieure à {arg}.", "Corrigez la valeur."),
    (r"less_than_or_equal_to\((.*)\)", "La valeur doit être inférieure ou égale à {arg}.", "Corrigez la valeur."),
    (r"in_range\((.*)\)", "La valeur doit être comprise dans l'intervalle {arg}.", "Corrigez la valeur."),
    (r"isin\((.*)\)", "La valeur ne fait pas partie des valeurs admises {arg}.", "Utilisez l'une des valeurs admises."),
    (r"str_matches\((.*)\)", "La valeur n'a pas le format attendu.", "Corrigez la valeur."),
    (r"not_nullable", "La valeur est obligatoire.", "Complétez la cellule."),
)
UNIQUENESS = re.compile(r"field_uniqueness|unique")


def _schema_problems(
    upload: ParsedUpload, typed: pl.DataFrame, unit: SourceUnit, unreadable_rows: set[int]
) -> list[Problem]:
    """Run the unit's pandera model (eager, so data checks run) and turn its failures into problems
    (an empty cell already reported as unreadable or missing is not reported again)."""
    import pandera.errors
    import pandera.polars

    try:
        unit.schema.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as failure:
        cases = failure.failure_cases
    except pandera.errors.SchemaError as failure:  # a single structural failure
        cases = failure.failure_cases if isinstance(failure.failure_cases, pl.DataFrame) else None
        if cases is None:
            return [
                upload.problem(
                    f"Le tableau ne respecte pas le schéma attendu ({failure}).", "Contactez l'équipe données."
                )
            ]
    else:
        return []
    labels = {c.name: c.label for c in unit.columns}
    cases = (
        cases.select(
            pl.col("column").fill_null("").cast(pl.String),
            pl.col("check").cast(pl.String),
            pl.col("failure_case").cast(pl.String),
            pl.col("index").cast(pl.Int64),
        )
        .join(
            typed.select(ROW).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64)),
            on="index",
            how="left",
        )
        .filter(~((pl.col("check") == "not_nullable") & pl.col(ROW).is_in(sorted(unreadable_rows))))
    )
    problems = []
    names = _check_names(unit.schema)
    for (column, check), failures in cases.group_by("column", "check", maintain_order=True):
        message, action = _describe_check(check, labels.get(column, column))
        if UNIQUENESS.fullmatch(check):
            # each row names exactly the other rows that hold the same value
            failures = failures.with_columns(same=pl.col(ROW).implode().over("failure_case"))
        problems += per_row(
            failures.sort(ROW).head(LISTED_PER_RULE).iter_rows(named=True),
            failures.height,
            lambda case, message=message, action=action, column=column, check=check: upload.problem(
                message.format(rows=_other_rows(case)),
                action,
                row=case[ROW],
                column=column or None,
                value=case["failure_case"],
                check=names.get(check, check if len(check) < 60 else "schema"),
            ),
        )
    return problems


def _check_names(schema: type) -> dict[str, str]:
    """A unit's own pandera checks are reported by their error text: the text -> the check's name, so
    that a problem carries the stable identifier the unit gave its check."""
    names = {}
    model = schema.to_schema()
    for column in model.columns.values():
        for check in column.checks:
            if check.error and check.name:
                names[check.error] = check.name
    for check in model.checks:
        if check.error and check.name:
            names[check.error] = check.name
    return names


def _other_rows(case: dict) -> str:
    others = sorted(r for r in case.get("same") or [] if r != case[ROW])
    if not others:
        return "doublon"
    shown = ", ".join(str(r) for r in others[:10])
    return f"aussi ligne{'s' if len(others) > 1 else ''} {shown}" + (
        f" et {len(others) - 10} autre(s)" if len(others) > 10 else ""
    )


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
