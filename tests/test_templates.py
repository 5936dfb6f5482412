"""The template of each source: generated from its contract, with dropdowns from a hidden list sheet,
input messages and a version cell; filled with a sample's rows, it is accepted as it is."""

import dataclasses
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

from pipelines.contract.discovery import discover_units
from pipelines.contract.rows import ROW
from pipelines.contract.template import (
    LISTS_SHEET,
    VERSION_NAME,
    display_words,
    template_columns,
    template_version,
    write_template,
)
from pipelines.foundation.settings import Limits
from pipelines.validation.parse import parse_upload
from tests.conftest import samples_dir

UNITS = {unit.source_id: unit for unit in discover_units()}


def first_sample(source_id: str) -> Path:
    return sorted(p for p in (samples_dir() / source_id).iterdir() if p.is_file())[0]


def steward_value(column, value, reference):
    """What a steward puts in the template's cell for a typed value of the sample."""
    if value is None:
        return None
    if column.kind == "yes_no":
        return display_words(column, reference)["true" if value else "false"]
    if column.kind == "choice":
        return display_words(column, reference)[value]
    if column.kind == "month":
        return f"{value:%m/%Y}"
    return value


@pytest.mark.parametrize("source_id", sorted(UNITS))
def test_a_filled_template_is_accepted_as_it_is_with_the_sample_s_values(source_id, reference, tmp_path):
    unit = UNITS[source_id]
    sample = first_sample(source_id)
    original = parse_upload(sample, unit, reference, Limits())
    assert original.accepted, [p.as_text() for p in original.problems]

    template = write_template(unit, reference, tmp_path / "modele.xlsx")
    workbook = load_workbook(template)
    sheet = workbook.worksheets[0]
    columns = template_columns(unit)
    assert [c.value for c in sheet[1]] == [c.headers[0] for c in columns]  # French headers, in order
    rows = original.frame.sort(ROW).select([c.name for c in columns]).rows()
    for index, values in enumerate(rows, start=2):
        for position, (column, value) in enumerate(zip(columns, values), start=1):
            sheet.cell(row=index, column=position).value = steward_value(column, value, reference)
    filled = tmp_path / "rempli" / f"{sample.stem}.xlsx"  # the same name: the period may come from it
    filled.parent.mkdir()
    workbook.save(filled)

    upload = parse_upload(filled, unit, reference, Limits())
    assert upload.accepted, [p.as_text() for p in upload.problems]
    assert not [p for p in upload.problems if p.is_error]
    assert upload.ignored_columns == []
    assert upload.period == original.period
    names = [c.name for c in columns]
    assert upload.frame.select(names).equals(original.frame.sort(ROW).select(names))


@pytest.mark.parametrize("source_id", sorted(UNITS))
def test_dropdowns_come_from_the_hidden_list_sheet_through_names(source_id, reference, tmp_path):
    unit = UNITS[source_id]
    workbook = load_workbook(write_template(unit, reference, tmp_path / "modele.xlsx"))
    sheet, lists = workbook.worksheets[0], workbook[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    assert workbook.defined_names[VERSION_NAME].attr_text == f"'{LISTS_SHEET}'!$A$2"
    assert lists["A2"].value == template_version(unit, reference)
    columns = template_columns(unit)
    letters = {c.headers[0]: cell.column_letter for c, cell in zip(columns, sheet[1])}
    validations = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
    listed = [c for c in columns if c.kind in ("yes_no", "choice")]
    assert bool(listed) == (source_id != "mes_statistics")  # MES has no yes/no nor closed-list column
    for column in listed:
        validation = validations[f"{letters[column.headers[0]]}2"]
        assert validation.type == "list"
        name = validation.formula1.lstrip("=")
        assert not name.startswith('"'), "an inline list is capped at 255 characters by Excel"
        target = workbook.defined_names[name].attr_text
        sheet_name, cells = target.split("!")
        assert sheet_name == f"'{LISTS_SHEET}'"
        first, last = cells.replace("$", "").split(":")
        words = [c.value for row in lists[f"{first}:{last}"] for c in row]
        assert words == list(display_words(column, reference).values())
        assert validation.showInputMessage and validation.prompt and validation.promptTitle
    for column in columns:  # every column says what to write
        validation = validations[f"{letters[column.headers[0]]}2"]
        assert validation.prompt and len(validation.prompt) <= 255
        assert len(validation.promptTitle) <= 32


def test_the_departement_list_is_longer_than_an_inline_list_could_be(reference, tmp_path):
    care = UNITS["care_registrations"]
    departements = display_words(care.column("departement"), reference)
    assert len(",".join(departements.values())) > 255
    workbook = load_workbook(write_template(care, reference, tmp_path / "modele.xlsx"))
    assert "72" in [c.value for row in workbook[LISTS_SHEET].iter_rows() for c in row]


def test_an_empty_template_is_refused_as_an_empty_file_not_as_a_wrong_one(reference, tmp_path):
    unit = UNITS["pharmacy_survey"]
    template = write_template(unit, reference, tmp_path / "2024-06 modele.xlsx")
    upload = parse_upload(template, unit, reference, Limits())
    assert not upload.accepted
    assert [p.check for p in upload.problems] == ["validation"]
    assert "aucune ligne de données" in upload.problems[0].message
    assert upload.problems[0].kind == "structure"


def test_the_version_changes_with_the_contract(reference):
    unit = UNITS["pharmacy_survey"]
    renamed = dataclasses.replace(
        unit,
        columns=tuple(
            dataclasses.replace(c, headers=("Équipée d'une MSSanté", *c.headers)) if c.name == "mssante" else c
            for c in unit.columns
        ),
    )
    assert template_version(unit, reference) != template_version(renamed, reference)
    assert template_version(unit, reference) == template_version(unit, reference)


def test_dates_and_codes_keep_their_form(reference, tmp_path):
    unit = UNITS["pharmacy_survey"]
    workbook = load_workbook(write_template(unit, reference, tmp_path / "modele.xlsx"))
    sheet = workbook.worksheets[0]
    formats = {c.value: sheet.column_dimensions[c.column_letter].number_format for c in sheet[1]}
    assert formats["FINESS"] == "@"  # a leading zero is never dropped
    assert formats["Date de réponse"].startswith("DD/MM/YYYY")


# --- opened by LibreOffice ------------------------------------------------------------------------

ODF = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}


def _repeat(element, what: str) -> int:
    return int(element.get(f"{{{ODF['table']}}}number-{what}-repeated", "1"))


def _row_validations(table, row_number: int) -> list[str | None]:
    """The validation name of each cell of a row of an ODS table (repeated rows and cells expanded)."""
    seen = 0
    for row in table.iter(f"{{{ODF['table']}}}table-row"):
        seen += _repeat(row, "rows")
        if seen >= row_number:
            names: list[str | None] = []
            for cell in row:
                if cell.tag in (f"{{{ODF['table']}}}table-cell", f"{{{ODF['table']}}}covered-table-cell"):
                    name = cell.get(f"{{{ODF['table']}}}content-validation-name")
                    names += [name] * min(_repeat(cell, "columns"), 1000)
            return names
    return []


def test_libreoffice_opens_each_template_with_its_dropdowns_fed_by_the_hidden_list(reference, tmp_path):
    """LibreOffice Calc (Debian's libreoffice-calc-nogui, headless) converts each template to ODS: every
    yes/no or closed-list column keeps a dropdown list whose named range holds the contract's words."""
    import subprocess
    import zipfile
    from xml.etree import ElementTree

    import fastexcel

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail(
            "LibreOffice est absent : apt-get install -y libreoffice-calc-nogui (Debian), comme le fait .ci/run."
        )
    templates = [write_template(unit, reference, tmp_path / f"{sid}.xlsx") for sid, unit in sorted(UNITS.items())]
    converted = tmp_path / "ods"
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profil').as_uri()}", "--headless", "--convert-to", "ods",
         "--outdir", str(converted), *map(str, templates)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    checked = 0
    for source_id, unit in sorted(UNITS.items()):
        ods = converted / f"{source_id}.ods"
        content = ElementTree.fromstring(zipfile.ZipFile(ods).read("content.xml"))
        validations = {
            v.get(f"{{{ODF['table']}}}name"): v for v in content.iter(f"{{{ODF['table']}}}content-validation")
        }
        ranges = {
            r.get(f"{{{ODF['table']}}}name"): r.get(f"{{{ODF['table']}}}cell-range-address")
            for r in content.iter(f"{{{ODF['table']}}}named-range")
        }
        data = next(content.iter(f"{{{ODF['table']}}}table"))  # the first sheet holds the data
        first_row = _row_validations(data, 2)
        lists = fastexcel.read_excel(ods).load_sheet_by_name(LISTS_SHEET, header_row=None).to_polars()
        for position, column in enumerate(template_columns(unit)):
            if column.kind not in ("yes_no", "choice"):
                continue
            validation = validations[first_row[position]]
            condition = validation.get(f"{{{ODF['table']}}}condition")
            assert condition.startswith("of:cell-content-is-in-list("), (source_id, column.name, condition)
            assert validation.get(f"{{{ODF['table']}}}display-list") != "no"  # the arrow is shown
            name = condition.removeprefix("of:cell-content-is-in-list(").removesuffix(")")
            address = ranges[name]  # e.g. $Listes.$B$2:.$B$3
            assert address.startswith(f"${LISTS_SHEET}.")
            letter = address.split(".")[1].split("$")[1]
            start, end = (int(part.rsplit("$", 1)[1]) for part in address.split(":"))
            words = lists[:, column_index_from_string(letter) - 1].to_list()[start - 1 : end]
            assert words == list(display_words(column, reference).values()), (source_id, column.name)
            checked += 1
    assert checked >= len([u for u in UNITS.values() if u.source_id != "mes_statistics"])
