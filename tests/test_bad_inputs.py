"""Every bad input is rejected alone, with a French message naming where and what to do,
within bounded time and memory, and a rejected file never changes the warehouse."""

import resource
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.contract import unit_by_id
from pipelines.ingest.values import finess_key_is_valid
from pipelines.validation.parse import parse_upload
from tests import hostile_files as hostile
from tests.conftest import copy_sample, published, run_pipeline

UNIT = unit_by_id("pharmacy_survey")
HEADERS = ["N° FINESS", "Raison sociale", "Équipée MSSanté", "Possède un fax"]


@pytest.fixture(scope="module")
def pharmacies(reference) -> list[str]:
    """Real Sarthe pharmacies of the reference (category 620)."""
    return reference.table("finess_et").filter(pl.col("categetab") == "620")["nofinesset"].head(5).to_list()


@pytest.fixture
def folder(settings) -> Path:
    path = settings.raw_dir / "pharmacy_survey"
    path.mkdir(parents=True)
    return path


def valid_rows(pharmacies):
    return [[f, f"Pharmacie {i}", "Oui", "Non"] for i, f in enumerate(pharmacies)]


def rejected(path, settings, reference):
    upload = parse_upload(path, UNIT, reference, settings.limits)
    assert not upload.accepted
    assert upload.problems and all(p.file == path.name for p in upload.problems)
    return [p for p in upload.problems if p.is_error]


def test_a_valid_small_file_is_accepted(folder, settings, reference, pharmacies):
    path = hostile.write_survey_xlsx(folder, "2025-02 ok.xlsx", valid_rows(pharmacies), HEADERS)
    upload = parse_upload(path, UNIT, reference, settings.limits)
    assert upload.accepted, upload.problems
    assert upload.rows == len(pharmacies)


def test_duplicate_finess_names_both_rows(folder, settings, reference, pharmacies):
    rows = valid_rows(pharmacies) + [[pharmacies[1], "Doublon", "Non", "Oui"]]
    [*problems] = rejected(hostile.write_survey_xlsx(folder, "2025-02 d.xlsx", rows, HEADERS), settings, reference)
    assert {p.row for p in problems} == {3, 7}
    assert all(p.column == "N° FINESS" and "plusieurs lignes" in p.message for p in problems)


def test_wrong_check_key(folder, settings, reference, pharmacies):
    wrong = pharmacies[0][:8] + str((int(pharmacies[0][8]) + 1) % 10)
    rows = valid_rows(pharmacies) + [[wrong, "X", "Oui", "Non"]]
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 k.xlsx", rows, HEADERS), settings, reference)
    assert (problem.row, problem.column, problem.cell, problem.value) == (7, "N° FINESS", "A7", wrong)
    assert "clé de contrôle" in problem.message


def test_finess_of_another_departement(folder, settings, reference, pharmacies):
    rows = valid_rows(pharmacies) + [["440000016", "CH de Saint-Nazaire", "Oui", "Non"]]
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 dep.xlsx", rows, HEADERS), settings, reference)
    assert (problem.row, problem.value) == (7, "440000016")
    assert "autre département (Loire-Atlantique)" in problem.message


def test_finess_of_a_non_pharmacy(folder, settings, reference, pharmacies):
    hospital = "720000033"  # Centre hospitalier du Mans, category 355
    rows = valid_rows(pharmacies) + [[hospital, "CH", "Oui", "Non"]]
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 ch.xlsx", rows, HEADERS), settings, reference)
    assert problem.row == 7 and "pas celui d'une pharmacie" in problem.message and "355" in problem.message


def unknown_valid_finess(reference) -> str:
    """A well-formed Sarthe FINESS (valid key) that the 2021 reference does not know."""
    known = set(reference.table("finess_et")["nofinesset"])
    for body in range(72099990, 72100000):
        digits = str(body)
        for key in "0123456789":
            candidate = digits + key
            frame = pl.DataFrame({"f": [candidate]})
            if candidate not in known and frame.select(ok=finess_key_is_valid(pl.col("f")))["ok"][0]:
                return candidate
    raise AssertionError("no candidate")


def test_unknown_but_well_formed_finess_is_a_warning(folder, settings, reference, pharmacies):
    rows = valid_rows(pharmacies) + [[unknown_valid_finess(reference), "Officine récente", "Oui", "Non"]]
    upload = parse_upload(
        hostile.write_survey_xlsx(folder, "2025-02 new.xlsx", rows, HEADERS), UNIT, reference, settings.limits
    )
    assert upload.accepted
    [warning] = upload.problems
    assert warning.severity == "avertissement" and warning.row == 7


def test_yes_no_cell_holding_another_word(folder, settings, reference, pharmacies):
    rows = valid_rows(pharmacies)
    rows[2][2] = "Bientôt"
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 yn.xlsx", rows, HEADERS), settings, reference)
    assert (problem.row, problem.column, problem.cell, problem.value) == (4, "Équipée MSSanté", "C4", "Bientôt")
    assert "Oui ou Non" in problem.action


def test_missing_required_column(folder, settings, reference, pharmacies):
    rows = [r[:3] for r in valid_rows(pharmacies)]
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 col.xlsx", rows, HEADERS[:3]), settings, reference)
    assert "colonne obligatoire" in problem.message and "fax" in problem.message.lower()
    assert "Possède un fax" in problem.action


def test_header_only_file(folder, settings, reference):
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 vide.xlsx", [], HEADERS), settings, reference)
    assert "aucune ligne de données" in problem.message


def test_ambiguous_number(folder, settings, reference, pharmacies):
    headers = HEADERS + ["Nombre de fax envoyés par semaine"]
    rows = [r + ["2"] for r in valid_rows(pharmacies)]
    rows[0][4] = "1.234,5"
    [problem] = rejected(hostile.write_survey_xlsx(folder, "2025-02 n.xlsx", rows, headers), settings, reference)
    assert (problem.cell, problem.value) == ("E2", "1.234,5")


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (hostile.write_empty_xlsx, "vide (0 octet)"),
        (hostile.write_empty_csv, "vide (0 octet)"),
        (hostile.write_pdf_as_xlsx, "PDF"),
        (hostile.write_legacy_xls, "Excel 97-2003"),
        (hostile.write_password_protected_xlsx, "mot de passe"),
        (hostile.write_encrypted_xlsx_container, "mot de passe"),
        (hostile.write_text_as_ods, "OpenDocument"),
        (hostile.write_truncated_xlsx, "endommagé"),
        (hostile.write_billion_laughs_xlsx, "DOCTYPE/ENTITY"),
        (hostile.write_zip_bomb_xlsx, "anormal"),
    ],
)
def test_generic_bad_files(builder, expected, folder, settings, reference):
    [problem] = rejected(builder(folder), settings, reference)
    assert expected in problem.message
    assert problem.action  # always says what to do


def test_formula_without_cached_value_names_the_cell(folder, settings, reference):
    problems = rejected(hostile.write_formula_without_cached_value_xlsx(folder), settings, reference)
    [problem] = problems
    assert (problem.cell, problem.row) == ("B2", 2)
    assert "jamais été calculé" in problem.message


def _limited(limit_bytes: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


@pytest.mark.parametrize(
    ("builder", "options"),
    [
        (hostile.write_zip_bomb_xlsx, {"layout": "long_text"}),
        (hostile.write_zip_bomb_xlsx, {"layout": "many_cells"}),  # aborts calamine's process if it gets that far
        (hostile.write_billion_laughs_xlsx, {"part": "sharedStrings"}),
        (hostile.write_billion_laughs_xlsx, {"part": "sheet"}),
    ],
)
def test_bombs_are_refused_within_time_and_memory(builder, options, folder):
    path = builder(folder, **options)
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "esante"), "validate", str(path), "--source", "pharmacy_survey"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited(4 * 1024**3),
    )
    assert completed.returncode == 1, completed.stderr
    assert "Fichier rejeté" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr


def test_rejected_files_never_change_the_warehouse(settings, folder, pharmacies):
    copy_sample(settings, "pharmacy_survey")
    assert run_pipeline(settings).success
    with published(settings) as connection:
        before = connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()
    originals = {}
    for index, builder in enumerate(
        [
            hostile.write_pdf_as_xlsx,
            hostile.write_zip_bomb_xlsx,
            hostile.write_billion_laughs_xlsx,
            hostile.write_empty_csv,
        ]
    ):
        path = builder(folder, f"2024-06 mauvais {index}{'.csv' if builder is hostile.write_empty_csv else '.xlsx'}")
        originals[path] = path.read_bytes()
    rows = valid_rows(pharmacies) + [[pharmacies[0], "Doublon", "Oui", "Oui"]]
    duplicate = hostile.write_survey_xlsx(folder, "2024-06 doublon.xlsx", rows, HEADERS)
    originals[duplicate] = duplicate.read_bytes()

    assert run_pipeline(settings).success
    with published(settings) as connection:
        after = connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()
        statuses = dict(connection.execute("SELECT file_name, status FROM audit.upload").fetchall())
    assert after == before
    assert {statuses[p.name] for p in originals} == {"rejected"}
    assert all(p.read_bytes() == content for p, content in originals.items())  # uploads are never modified
