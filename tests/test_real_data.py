"""Files shaped like those real stewards and national registers produce are read right, and every
problem of a file is reported in one pass, in French a steward reads (issue 13)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
from openpyxl import Workbook, load_workbook

from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from pipelines.contract import unit_by_id
from pipelines.foundation.problems import Problem, errors
from pipelines.validation.parse import parse_upload
from pipelines.warehouse.database import ensure_schema
from pipelines.warehouse.indicators import compute_indicators
from pipelines.warehouse.staging import load_upload
from tests import hostile_files as hostile
from tests.conftest import sample_path

SURVEY = unit_by_id("pharmacy_survey")
CARE = unit_by_id("care_registrations")


def survey(folder: Path, name: str, rows: list[list], headers: list[str]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    path = folder / name
    workbook.save(path)
    return path


# --- 1. CARE follow-ups with both identifiers --------------------------------------------------------


def care_values(upload) -> pl.DataFrame:
    import duckdb

    connection = duckdb.connect()
    ensure_schema(connection, [CARE])
    load_upload(connection, upload, 1)
    return compute_indicators(connection, CARE).pl()


def test_a_care_follow_up_with_both_finess_ej_and_et_is_read_with_the_ej_kept(tmp_path, reference, settings):
    """The regional follow-ups carry « FINESS EJ » and « N° FINESS ET »: the ET is the row's key, the EJ
    is kept; a row with only its EJ is matched to the EJ's single establishment in the reference."""
    known = reference.table("finess_sante_pdl")
    source = load_workbook(sample_path("care_registrations"))
    detail = source["Suivi établissements"]
    header_row = 3
    in_sample = {str(row[0]) for row in detail.iter_rows(min_row=header_row + 1, max_col=1, values_only=True)}
    single = (  # an EJ with a single establishment, one the sample does not already list
        known.group_by("nofinessej")
        .agg(pl.len().alias("n"), pl.col("nofinesset").first())
        .filter((pl.col("n") == 1) & ~pl.col("nofinesset").is_in(sorted(in_sample)))
        .sort("nofinessej")
    )
    only_ej, its_et = single.row(0)[0], single.row(0)[2]
    detail.insert_cols(2)
    detail.cell(header_row, 1).value, detail.cell(header_row, 2).value = "N° FINESS ET", "FINESS EJ"
    by_et = dict(known.select("nofinesset", "nofinessej").iter_rows())
    rows = list(range(header_row + 1, detail.max_row + 1))
    for row in rows:
        detail.cell(row, 2).value = by_et.get(str(detail.cell(row, 1).value))
    detail.cell(rows[0], 1).value, detail.cell(rows[0], 2).value = None, only_ej  # an EJ-only row
    path = tmp_path / "2024-10 suivi CARE avec EJ.xlsx"
    source.save(path)

    upload = parse_upload(path, CARE, reference, settings.limits)
    assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
    assert upload.headers["finess"] == "N° FINESS ET" and upload.headers["finess_ej"] == "FINESS EJ"
    assert upload.frame.filter(pl.col("source_row") == rows[0])["finess"].item() == its_et  # matched through FINESS
    assert upload.frame["finess_ej"].null_count() < upload.rows // 2  # the EJ is kept beside the ET
    values = care_values(upload)
    total = values.filter(
        (pl.col("indicator_id") == "care_registration_rate")
        & (pl.col("territory_level") == "region")
        & pl.col("segment").is_null()
    )
    registered = sum(1 for row in rows if str(detail.cell(row, 7).value).strip().lower() in ("oui", "o", "x", "1"))
    assert total.select("numerator", "denominator").row(0) == (registered, len(rows))


# --- 4. dates that cannot be true -------------------------------------------------------------------


def test_a_response_dated_in_the_future_is_rejected_naming_its_cell(tmp_path, reference, settings):
    pharmacies = load_sarthe_pharmacies()[:6]
    path = build_pharmacy_wave(
        tmp_path / "2026-10 vague.xlsx",
        pharmacies,
        mssante_count=3,
        fax_count=3,
        wave=dt.date(2026, 10, 1),
        personal_data=False,
        yes_no_variants=False,
    )
    book = load_workbook(path)
    sheet = book.active
    date_column = next(c.column for c in sheet[3] if c.value == "Horodateur")
    sheet.cell(5, date_column).value = dt.datetime(2027, 1, 15, 10, 0)
    book.save(path)
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    [future] = [p for p in errors(upload.problems) if p.check == "date_future"]
    assert (future.row, future.cell) == (5, f"{sheet.cell(5, date_column).column_letter}5")
    assert "15/01/2027" in future.message and "à venir" in future.message


def test_a_wave_named_2025_03_whose_answers_date_from_june_2024_is_warned_naming_both_months(
    tmp_path, reference, settings
):
    pharmacies = load_sarthe_pharmacies()[:8]
    path = build_pharmacy_wave(
        tmp_path / "2025-03 relance.xlsx", pharmacies, mssante_count=4, fax_count=4, wave=dt.date(2024, 6, 1)
    )  # every answer dated June 2024
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    [warning] = [p for p in upload.problems if p.check == "vague_et_reponses"]
    assert not warning.is_error and "03/2025" in warning.message and "06/2024" in warning.message
    late = [p for p in upload.problems if p.check == "date_hors_vague"]
    assert not late  # answers before the wave are not "late"


# --- 5. every problem of a file in one pass ---------------------------------------------------------


def test_format_value_and_rule_problems_are_reported_together(tmp_path, reference, settings):
    pharmacies = [p["finess"] for p in load_sarthe_pharmacies()[:8]]
    headers = [
        "N° FINESS",
        "Raison sociale",
        "Code commune",
        "Équipée MSSanté",
        "Opérateur MSSanté",
        "Possède un fax",
        "Nombre de fax envoyés par semaine",
    ]
    rows = [[f, f"Pharmacie {i}", None, "Oui", "Mailiz", "Non", 2] for i, f in enumerate(pharmacies)]
    rows[5][0] = "440000016"  # A7: a FINESS of another département (a rule against the reference)
    rows[7][6] = "beaucoup"  # G9: a text in an integer column (a format problem)
    path = survey(tmp_path, "2025-02 vague.xlsx", rows, headers)
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    cells = {p.cell: p.check for p in errors(upload.problems)}
    assert cells == {"A7": "finess_departement", "G9": "format_integer"}
    [left_out] = [p for p in upload.problems if p.check == "lignes_non_controlees"]
    assert "1 ligne(s)" in left_out.message and "lignes 9" in left_out.message


def test_a_long_list_is_capped_with_its_total(tmp_path, reference, settings):
    from pipelines.foundation.problems import LISTED_PER_RULE, total

    rows = [[f"72{n:07d}", "P", "Peut-être", "Non"] for n in range(LISTED_PER_RULE + 40)]
    path = hostile.write_csv(tmp_path, "2025-02 longue.csv", ["FINESS", "Raison sociale", "MSSanté", "Fax"], rows)
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    not_yes_no = [p for p in upload.problems if p.check == "format_yes_no"]
    assert len(not_yes_no) == LISTED_PER_RULE + 1
    assert total(not_yes_no) == LISTED_PER_RULE + 40
    assert "… et 40 autre(s) ligne(s) dans le même cas" in not_yes_no[-1].message


# --- 6. messages a steward reads --------------------------------------------------------------------


def test_messages_end_their_sentence_and_name_the_pharmacy_of_the_row(tmp_path, reference, settings):
    pharmacies = load_sarthe_pharmacies()[:3]
    wrong = pharmacies[0]["finess"][:8] + str((int(pharmacies[0]["finess"][8]) + 1) % 10)
    rows = [
        [wrong, "Pharmacie du Centre", "Oui", "Non"],
        [pharmacies[1]["finess"], "Pharmacie de la Gare", "Bof", "Non"],
    ]
    path = survey(tmp_path, "2025-02 vague.xlsx", rows, ["FINESS", "Raison sociale", "MSSanté", "Fax"])
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    by_cell = {p.cell: p for p in errors(upload.problems)}
    key = by_cell["A2"].as_text()
    assert "(le 9e chiffre ne correspond pas aux 8 premiers). Valeur trouvée" in key
    assert "ligne 2, colonne « FINESS », cellule A2 (Pharmacie du Centre)" in key
    assert "(Pharmacie de la Gare)" in by_cell["C3"].as_text()


def test_a_utf16_csv_is_told_to_be_saved_as_utf8(tmp_path, reference, settings):
    path = tmp_path / "2025-02 vague.csv"
    path.write_text("FINESS;MSSanté;Fax\n720008994;Oui;Non\n", encoding="utf-16")
    [problem] = parse_upload(path, SURVEY, reference, settings.limits).problems
    assert "UTF-16" in problem.message and "CSV UTF-8" in problem.action
    assert "binaire" not in problem.message


def test_a_header_cell_that_joins_two_columns_is_named_as_such(tmp_path, reference, settings):
    path = survey(
        tmp_path,
        "2025-02 vague.xlsx",
        [["720008994", "P", "Oui / Non"]],
        ["FINESS", "Raison sociale", "Équipée MSSanté / Possède un fax"],
    )
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    [joined] = [p for p in upload.problems if p.check == "entete_fusionnee"]
    assert joined.column == "Équipée MSSanté / Possède un fax" and joined.kind == "structure"
    assert "« équipée MSSanté », « possède un fax »" in joined.message
    assert not [p for p in upload.problems if p.check == "colonne_obligatoire"]  # not told missing as well


def test_a_newline_in_a_file_name_does_not_cut_the_console_summary(tmp_path):
    folder = tmp_path / "pharmacy_survey"
    folder.mkdir()
    path = hostile.write_survey_xlsx(
        folder,
        "2025-02 vague\nfausse.xlsx",
        [["720008994", "P", "Bientôt", "Non"]],
        ["FINESS", "Raison sociale", "MSSanté", "Fax"],
    )
    result = subprocess.run(
        [str(Path(sys.executable).parent / "esante"), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "2025-02 vague\\nfausse.xlsx" in result.stdout
    lines = result.stdout.splitlines()
    assert all(not line.startswith("fausse.xlsx") for line in lines)  # no line starts with the rest of the name
    assert Problem("m", "a", file="a\nb").where() == "fichier « a\\nb »"
