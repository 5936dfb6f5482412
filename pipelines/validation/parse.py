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
from pipelines.contract.tables import header_problems, no_header_problem, text_rows, typed_rows, vocabulary_of
from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.problems import LISTED_PER_RULE, Problem, errors, per_row
from pipelines.foundation.settings import Limits
from pipelines.ingest.headers import locate_header
from pipelines.ingest.preflight import check_upload
from pipelines.ingest.readers import choose_sheet, read_csv, read_xlsx
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
    value_problems, unreadable_rows = typed_rows(upload, frame, unit.stored_columns, reference)
    upload.problems.extend(value_problems)
    typed = upload.frame
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

    vocabulary = vocabulary_of(unit.columns)
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
        upload.problems.append(no_header_problem(upload, unit.columns, "dans les premières lignes du fichier"))
        return None
    upload.headers = match.originals
    upload.letters = {name: grid.column_letters[index] for name, index in match.columns.items()}
    upload.ignored_columns = match.ignored
    header_row = grid.first_row + match.row_index
    upload.problems += header_problems(upload, unit.columns, match, header_row)
    if errors(upload.problems):
        return None

    frame = text_rows(grid, match, unit.stored_columns)  # personal and unknown columns never leave here
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
