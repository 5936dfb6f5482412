"""The workbook a steward fills: one per source, generated from the unit's contract.

The first sheet is the table itself (named as the unit expects it): French headers in row 1, one
row per record from row 2, each column formatted for its kind (codes kept as text so that Excel
does not drop a leading zero, dates as dates). Each column carries an input message (what to
write, from the contract), yes/no and closed-list columns a dropdown whose words come from a
hidden sheet through a defined name (Excel caps a list written inline at 255 characters, and the
départements alone are longer). The hidden sheet also holds the template's version, so that a
filled template can be traced back to the contract it was made from. A second sheet, « Aide »,
lists the columns for the steward who prints it.

A filled template is a file like any other: the parser recognises its headers and its words
(tests/test_templates.py fills one per source and validates it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from pipelines.contract.unit import Column, SourceUnit
from pipelines.ingest.values import KINDS, choice_expected
from pipelines.reference.tables import ReferenceData

TEMPLATE_FORMAT = "1"  # bumped when the layout of the workbook changes
LISTS_SHEET = "Listes"
HELP_SHEET = "Aide"
VERSION_NAME = "version_modele"
VERSION_CELL = "A2"
YES_NO = ("Oui", "Non")
FORMATTED_ROWS = 2_000  # rows that get the dropdowns and input messages
NUMBER_FORMATS = {
    "text": "@",
    "finess": "@",
    "commune": "@",
    "month": "@",  # "11/2024" stays as written (Excel would make it a day)
    "date": "DD/MM/YYYY",
    "datetime": "DD/MM/YYYY HH:MM",
    "integer": "0",
    "decimal": "0.00",
    "rate": "0.0%",
    "choice": "@",
    "yes_no": "@",
}
PROMPT_TITLE_LENGTH, PROMPT_LENGTH = 32, 255  # Excel's limits for an input message


def template_columns(unit: SourceUnit) -> list[Column]:
    """The columns of the template: the contract's, personal data excepted (never asked for)."""
    return unit.stored_columns


def display_words(column: Column, reference: ReferenceData | None) -> dict[str, str]:
    """code -> the word the dropdown offers for it: the first word the unit gives for that code (the
    one its contract page shows as what to write)."""
    if column.kind == "yes_no":
        return {"true": YES_NO[0], "false": YES_NO[1]}
    words: dict[str, str] = {}
    for word, code in column.words(reference).items():
        words.setdefault(code, word)
    return words


def template_version(unit: SourceUnit, reference: ReferenceData | None) -> str:
    """'<source>-<digest>': changes when a header, a kind or a list of words of the contract changes."""
    digest = hashlib.sha256(TEMPLATE_FORMAT.encode())
    for column in template_columns(unit):
        digest.update(repr((column.name, column.kind, column.headers[0], column.required, column.help)).encode())
        if column.kind in ("choice", "yes_no"):
            digest.update(repr(sorted(display_words(column, reference).items())).encode())
    return f"{unit.source_id}-{digest.hexdigest()[:10]}"


def template_file_name(unit: SourceUnit) -> str:
    return f"modele {unit.source_id}.xlsx"


def write_template(unit: SourceUnit, reference: ReferenceData, path: Path) -> Path:
    """Write the source's template to `path` (folders created); return it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = template_columns(unit)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = unit.sheet_names[0] if unit.sheet_names else "Données"
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    _text(lists, "A1", "Version du modèle")
    _text(lists, VERSION_CELL, template_version(unit, reference))
    workbook.defined_names[VERSION_NAME] = DefinedName(VERSION_NAME, attr_text=f"'{LISTS_SHEET}'!$A$2")

    header_fill = PatternFill(start_color="FFDCE6F1", end_color="FFDCE6F1", fill_type="solid")
    list_column = 1  # column A holds the version
    named_lists: dict[tuple[str, ...], str] = {}
    last_row = FORMATTED_ROWS + 1
    for position, column in enumerate(columns, start=1):
        letter = get_column_letter(position)
        header = sheet.cell(row=1, column=position)
        _text(sheet, f"{letter}1", column.headers[0])
        header.font = Font(bold=True)
        header.fill = header_fill
        header.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[letter].width = max(14, min(40, len(column.headers[0]) + 4))
        # the column's own format (what Excel gives a cell typed there), not one per cell
        sheet.column_dimensions[letter].number_format = NUMBER_FORMATS.get(column.kind, "General")

        cells = f"{letter}2:{letter}{last_row}"
        if column.kind in ("yes_no", "choice"):
            words = tuple(display_words(column, reference).values())
            name = named_lists.get(words)
            if name is None:
                list_column += 1
                name = f"liste_{column.name}"[:250]
                list_letter = get_column_letter(list_column)
                _text(lists, f"{list_letter}1", column.label)
                for index, word in enumerate(words, start=2):
                    _text(lists, f"{list_letter}{index}", word)
                reference_range = f"'{LISTS_SHEET}'!${list_letter}$2:${list_letter}${len(words) + 1}"
                workbook.defined_names[name] = DefinedName(name, attr_text=reference_range)
                named_lists[words] = name
            validation = DataValidation(
                type="list",
                formula1=f"={name}",
                allow_blank=True,
                showDropDown=False,  # openpyxl's name for Excel's "hide the arrow": False shows it
                showErrorMessage=True,
                errorStyle="stop",
                errorTitle="Valeur non prévue",
                error=f"Choisissez une valeur de la liste pour « {column.label} ».",
            )
        elif column.kind == "integer":
            validation = _warning_validation("whole", column, "un nombre entier")
        elif column.kind == "decimal":
            validation = _warning_validation("decimal", column, "un nombre")
        elif column.kind in ("date", "datetime"):
            validation = _warning_validation("date", column, "une date")
        else:
            validation = DataValidation(allow_blank=True)
        validation.showInputMessage = True
        validation.promptTitle = column.label[:PROMPT_TITLE_LENGTH]
        validation.prompt = _prompt(column, reference)
        validation.add(cells)
        sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    _write_help(workbook.create_sheet(HELP_SHEET), unit, columns, reference)
    workbook.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _text(sheet, reference: str, value: str) -> None:
    """A text cell that stays a text (never a formula, whatever it starts with)."""
    cell = sheet[reference]
    cell.value = value
    cell.data_type = "s"


def _warning_validation(kind: str, column: Column, what: str):
    """A check Excel only warns about (the steward may keep the value: the portal's verdict decides)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    bounds = {"whole": ("-1000000000000", "1000000000000"), "decimal": ("-1E+15", "1E+15")}
    low, high = bounds.get(kind, ("1", "2958465"))  # dates: Excel's serial numbers, 1900 to 9999
    return DataValidation(
        type=kind,
        operator="between",
        formula1=low,
        formula2=high,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Valeur inattendue",
        error=f"« {column.label} » attend {what}.",
    )


def _expected(column: Column, reference: ReferenceData | None) -> str:
    if column.kind == "choice":
        return "une valeur de la liste"
    if column.kind == "yes_no":
        return "Oui ou Non (liste)"
    return KINDS[column.kind].expected


def _prompt(column: Column, reference: ReferenceData | None) -> str:
    required = "Obligatoire. " if column.required or not column.nullable else ""
    text = f"{required}{column.help or ''} Saisissez {_expected(column, reference)}.".replace("  ", " ").strip()
    return text if len(text) <= PROMPT_LENGTH else text[: PROMPT_LENGTH - 1] + "…"


def _write_help(sheet, unit: SourceUnit, columns: list[Column], reference: ReferenceData) -> None:
    from openpyxl.styles import Alignment, Font

    rows: list[list[str]] = [
        [f"Modèle de fichier : {unit.label}"],
        [unit.contract],
        [],
        ["Colonne", "Obligatoire", "Valeurs attendues", "Précisions"],
    ]
    for column in columns:
        required = "oui" if column.required else ("valeur requise" if not column.nullable else "non")
        rows.append([column.headers[0], required, _values(column, reference), column.help])
    for index, values in enumerate(rows, start=1):
        for position, value in enumerate(values, start=1):
            cell = sheet.cell(row=index, column=position)
            cell.value = value
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (32, 14, 60, 60)):
        sheet.column_dimensions[letter].width = width


def _values(column: Column, reference: ReferenceData) -> str:
    if column.kind == "choice":
        words: Mapping[str, str] = column.words(reference)
        return choice_expected(words)
    return KINDS[column.kind].expected
