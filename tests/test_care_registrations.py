"""Source care_registrations (CARE follow-up, objective 4): contract, rules, reconciliation, indicators.

Most tests validate with parse_upload and compute the indicators in an in-memory DuckDB through the
unit's own staging.sql / load.sql / indicators.sql (fast); two tests run the whole Dagster job.
Expected figures are counted from the workbooks with openpyxl, independently of the unit's code.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import unicodedata
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest
from openpyxl import load_workbook

from assets.care_registrations import RECONCILIATION, SOURCE, state_period
from assets.care_registrations.sample import build_care_followup
from pipelines.contract import reference_data
from pipelines.foundation.problems import errors, warnings
from pipelines.validation.parse import ParsedUpload, parse_upload
from pipelines.warehouse.database import ensure_schema
from pipelines.warehouse.indicators import compute_indicators
from pipelines.warehouse.staging import load_upload
from tests.conftest import copy_sample, indicator, published, run_pipeline
from tests.conftest import sample_path as shipped_sample

SAMPLE = "2024-10 suivi CARE Pays de la Loire.xlsx"
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
DETAIL = "Suivi établissements"
HEADER_ROW = 3
# Independent word lists (the test's own reading of shared/sources.md).
CATEGORY = {
    "ght": "ght",
    "espic": "non_lucratif",
    "prive non lucratif": "non_lucratif",
    "prive a but non lucratif": "non_lucratif",
    "associatif": "non_lucratif",
    "prive": "prive",
    "prive lucratif": "prive",
    "prive commercial": "prive",
}
STATUS = {
    "realise": "realise",
    "fait": "realise",
    "oui": "realise",
    "programme": "programme",
    "planifie": "programme",
    "prevu": "programme",
    "a realiser": "a_realiser",
    "a faire": "a_realiser",
    "non realise": "a_realiser",
    "non": "a_realiser",
}
YES, NO = {"oui", "o", "x", "1", "vrai", "yes"}, {"non", "n", "0", "faux", "no"}


# --- helpers ---------------------------------------------------------------------------------------


def norm(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def reference_departement(finess: str) -> str:
    """The test's own reading of the rule: an establishment's département in the FINESS reference; a legal
    entity's, where most of its establishments are (ties: the smallest code); else the number's."""
    with (Path(__file__).resolve().parents[1] / "reference" / "finess_etab_sante_pdl_stock20210108.csv").open(
        encoding="utf-8"
    ) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["nofinesset"] == finess:
            return r["departement"]
    entity = Counter(r["departement"] for r in rows if r["nofinessej"] == finess)
    if entity:
        return sorted(entity.items(), key=lambda item: (-item[1], item[0]))[0][0]
    return finess[:2]


def expected_counts(path: Path, regions: dict[str, str] | None = None) -> dict:
    """Counts read from the detail sheet with openpyxl: {(level, code): {...}}."""
    sheet = load_workbook(path, data_only=True)[DETAIL]
    rows = sheet.iter_rows(min_row=HEADER_ROW, values_only=True)
    header = [norm(h) for h in next(rows)]
    counts: dict = {}
    for values in rows:
        if not any(v not in (None, "") for v in values):
            continue
        cell = dict(zip(header, values))
        finess = str(next(v for k, v in cell.items() if "finess" in k))
        dept = cell.get("departement") or cell.get("dept")
        dept = (
            norm(dept)[:2]
            if dept not in (None, "") and norm(dept)[:2].isdigit()
            else {"sarthe": "72", "vendee": "85"}.get(norm(dept)) or reference_departement(finess)
        )
        category = CATEGORY[norm(cell.get("categorie") or cell.get("type d etablissement"))]
        candidate = norm(cell.get("candidat") or cell.get("a candidate")) in YES
        registered = norm(cell.get("inscrit") or cell.get("inscrit au programme")) in YES
        status_text = cell.get("statut exercice de crise", cell.get("exercice crise cyber"))
        status = STATUS[norm(status_text)] if status_text not in (None, "") else None
        required_text = cell.get("exercice de crise requis")
        required = norm(required_text) in YES if required_text not in (None, "") else status is not None
        for territory in (("region", (regions or {}).get(dept, "52")), ("departement", dept)):
            for segment in (None, category):
                c = counts.setdefault((*territory, segment), Counter())
                c["eligible"] += 1
                c["registered"] += registered
                c["candidates"] += candidate
            c = counts[(*territory, None)]
            c["required"] += required
            if required and status:
                c[status] += 1
    return counts


def parse(path: Path, reference, settings) -> ParsedUpload:
    return parse_upload(path, SOURCE, reference, settings.limits)


def state_indicators(uploads: list[ParsedUpload]) -> tuple[pl.DataFrame, duckdb.DuckDBPyConnection]:
    """The unit's SQL on accepted uploads, loaded in this order, in an in-memory DuckDB."""
    connection = duckdb.connect()
    ensure_schema(connection, [SOURCE])
    for order, upload in enumerate(uploads, start=1):
        assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
        load_upload(connection, upload, order)
    return compute_indicators(connection, SOURCE).pl(), connection


def value(values: pl.DataFrame, indicator_id: str, level="region", code="52", segment=None) -> tuple:
    row = values.filter(
        (pl.col("indicator_id") == indicator_id)
        & (pl.col("territory_level") == level)
        & (pl.col("territory_code") == code)
        & pl.col("segment").eq_missing(segment)
    )
    assert row.height == 1, (indicator_id, level, code, segment, row)
    return row.select("numerator", "denominator", "value").row(0)


def assert_matches_workbook(values: pl.DataFrame, path: Path, regions: dict[str, str] | None = None) -> None:
    """Every indicator value equals the count read from the workbook, and nothing else is published."""
    counts = expected_counts(path, regions)
    published_rows = 0
    for (level, code, segment), c in counts.items():
        assert value(values, "care_registration_rate", level, code, segment)[:2] == (c["registered"], c["eligible"])
        assert value(values, "care_candidates_by_category", level, code, segment)[:2] == (
            c["candidates"],
            c["eligible"],
        )
        published_rows += 2
        if segment is None and c["required"]:
            for status in ("realise", "programme", "a_realiser"):
                assert value(values, "crisis_exercise_status", level, code, status)[:2] == (c[status], c["required"])
                published_rows += 1
    assert values.height == published_rows


def luhn_key(first_eight: str) -> str:
    for key in "0123456789":
        digits = [int(c) for c in first_eight + key]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
        if total % 10 == 0:
            return first_eight + key
    raise AssertionError


def edit_detail(source: Path, target: Path, edit) -> Path:
    """Copy a workbook, letting edit(sheet) change the detail sheet."""
    book = load_workbook(source)
    edit(book[DETAIL])
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def first_row_where(sheet, column: int, predicate) -> int:
    return next(r for r in range(HEADER_ROW + 1, sheet.max_row + 1) if predicate(sheet.cell(r, column).value))


@pytest.fixture(scope="module")
def sample_path() -> Path:
    return shipped_sample("care_registrations", SAMPLE)


# --- the sample ------------------------------------------------------------------------------------


def test_sample_is_accepted_with_the_reconciliation_warning(sample_path, reference, settings):
    upload = parse(sample_path, reference, settings)
    assert upload.accepted and upload.rows == 140 and upload.period == dt.date(2024, 10, 1)
    assert upload.sheet == DETAIL
    [warning] = warnings(upload.problems)
    assert warning.check == RECONCILIATION and warning.sheet == "Synthèse" and warning.cell == "B6"
    assert warning.message == (
        "La synthèse déclare 126 établissements devant réaliser un exercice de crise, le détail en compte 129."
    )


def test_sample_figures(sample_path, reference, settings):
    values, _ = state_indicators([parse(sample_path, reference, settings)])
    assert value(values, "care_registration_rate") == pytest.approx((130, 140, 130 / 140))
    assert round(value(values, "care_registration_rate")[2] * 100) == 93
    for segment, registered, candidates, total in (
        ("ght", 77, 78, 78),
        ("non_lucratif", 33, 34, 36),
        ("prive", 20, 21, 26),
    ):
        assert value(values, "care_registration_rate", segment=segment)[:2] == (registered, total)
        assert value(values, "care_candidates_by_category", segment=segment)[:2] == (candidates, total)
    assert value(values, "care_candidates_by_category")[:2] == (133, 140)
    for status, count in (("realise", 103), ("programme", 6), ("a_realiser", 20)):
        assert value(values, "crisis_exercise_status", segment=status)[:2] == (count, 129)
    assert set(values["period"]) == {dt.date(2024, 10, 1)}
    assert set(values["unit"]) == {"taux"}
    assert (values["numerator"] <= values["denominator"]).all()
    assert_matches_workbook(values, sample_path)


def test_sample_through_dagster_then_rejected_files_change_nothing(sample_path, reference, settings):
    copy_sample(settings, "care_registrations")
    assert run_pipeline(settings).success
    with published(settings) as connection:
        assert indicator(connection, "care_registration_rate", "region", "52") == pytest.approx((130, 140, 130 / 140))
        assert indicator(connection, "crisis_exercise_status", "region", "52", "realise")[:2] == (103, 129)
        before = connection.sql(
            "SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value WHERE indicator_id LIKE 'c%' ORDER BY ALL"
        ).fetchall()
        [(passed, severity, message)] = connection.execute(
            "SELECT passed, severity, message FROM audit.check_result WHERE check_name = ?", [RECONCILIATION]
        ).fetchall()
    assert not passed and severity == "avertissement" and "126" in message and "129" in message
    assert len(before) > 20

    # Three bad files, each for a later state (they would supersede the sample if accepted).
    folder = settings.raw_dir / "care_registrations"
    for name, column, text in (("categorie", 4, "Clinique"), ("candidat", 5, "Non"), ("statut", 9, "En cours")):

        def edit(sheet, column=column, text=text):
            row = first_row_where(sheet, 6, lambda v: norm(v) in YES)  # a registered row
            sheet.cell(row, column).value = text

        edit_detail(sample_path, folder / f"2024-12 suivi CARE {name}.xlsx", edit)
    assert run_pipeline(settings).success
    with published(settings) as connection:
        after = connection.sql(
            "SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value WHERE indicator_id LIKE 'c%' ORDER BY ALL"
        ).fetchall()
        statuses = dict(
            connection.execute(
                "SELECT file_name, status FROM audit.upload WHERE source_id = 'care_registrations'"
            ).fetchall()
        )
        periods = connection.sql("SELECT DISTINCT period FROM staging.care_registrations").fetchall()
    assert after == before
    assert statuses == {
        SAMPLE: "accepted",
        "2024-12 suivi CARE categorie.xlsx": "rejected",
        "2024-12 suivi CARE candidat.xlsx": "rejected",
        "2024-12 suivi CARE statut.xlsx": "rejected",
    }
    assert periods == [(dt.date(2024, 10, 1),)]


# --- other numbers, other spellings ----------------------------------------------------------------


def test_other_numbers_give_their_own_values(tmp_path, reference, settings):
    path = build_care_followup(
        tmp_path / "2025-03 suivi CARE.xlsx",
        category_totals={"ght": 40, "non_lucratif": 25, "prive": 30},
        category_candidates={"ght": 38, "non_lucratif": 20, "prive": 12},
        category_registered={"ght": 30, "non_lucratif": 15, "prive": 9},
        crisis_done=31,
        crisis_scheduled=11,
        crisis_todo=7,
        state_date=dt.date(2025, 3, 20),
        seed=7,
    )
    upload = parse(path, reference, settings)
    assert upload.accepted and upload.period == dt.date(2025, 3, 1)
    assert not warnings(upload.problems)  # consistent summary: the reconciliation passes
    values, _ = state_indicators([upload])
    assert value(values, "care_registration_rate")[:2] == (54, 95)
    assert value(values, "care_registration_rate", segment="prive")[:2] == (9, 30)
    assert value(values, "care_candidates_by_category", segment="non_lucratif")[:2] == (20, 25)
    assert value(values, "crisis_exercise_status", segment="programme")[:2] == (11, 49)
    assert_matches_workbook(values, path)


def test_summary_mismatches_name_both_numbers(tmp_path, reference, settings):
    path = build_care_followup(
        tmp_path / "2024-11 suivi.xlsx",
        declared_overrides={"Établissements inscrits": 131, "Exercices réalisés": 100, "Établissements éligibles": 140},
    )
    upload = parse(path, reference, settings)
    assert upload.accepted
    messages = sorted(p.message for p in upload.problems if p.check == RECONCILIATION)
    assert messages == [
        "La synthèse déclare 100 exercices de crise réalisés, le détail en compte 103.",
        "La synthèse déclare 131 établissements inscrits, le détail en compte 130.",
    ]
    assert all(not p.is_error for p in upload.problems)


def test_header_and_value_variants(tmp_path, sample_path, reference, settings):
    pdl = reference.table("finess_sante_pdl")
    renamed = {
        1: "FINESS",
        2: "Raison sociale",
        3: "Dept",
        4: "Type d'établissement",
        5: "A candidaté ?",
        6: "Inscrit au\nprogramme",
        9: "Exercice crise cyber",
        10: "Date exercice",
    }
    words = {
        "GHT": "ght",
        "ESPIC": "Associatif",
        "Privé non lucratif": "privé à but non lucratif",
        "Privé": "PRIVE COMMERCIAL",
        "Privé lucratif": "Privé commercial",
    }
    statuses = {
        "Réalisé": ["Fait", "oui", "REALISE"],
        "Programmé": ["Planifié", "Prévu"],
        "À réaliser": ["A faire", "Non réalisé", "non"],
    }

    def edit(sheet):
        for column, header in renamed.items():
            sheet.cell(HEADER_ROW, column).value = header
        for n, row in enumerate(range(HEADER_ROW + 1, sheet.max_row + 1)):
            sheet.cell(row, 4).value = words[sheet.cell(row, 4).value]
            status = sheet.cell(row, 9).value
            if status:
                sheet.cell(row, 9).value = statuses[status][n % len(statuses[status])]
            finess = str(sheet.cell(row, 1).value)
            sheet.cell(row, 3).value = {
                0: None,
                1: "Sarthe" if finess[:2] == "72" else finess[:2],
                2: f"{finess[:2]}.0",
            }[n % 3]
        # a legal entity (EJ) instead of an establishment, and a recent PdL establishment (warning)
        used = {str(sheet.cell(r, 1).value) for r in range(HEADER_ROW + 1, sheet.max_row + 1)}
        ej = next(j for j in pdl["nofinessej"] if j not in used)
        sheet.cell(HEADER_ROW + 1, 1).value = ej
        sheet.cell(HEADER_ROW + 2, 1).value = luhn_key("85099990")
        sheet.delete_cols(8)  # no "Exercice de crise requis": rows with a status are the required ones

    path = edit_detail(sample_path, tmp_path / "suivi CARE variantes.xlsx", edit)
    upload = parse(path, reference, settings)
    assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
    assert upload.headers["exercice_crise_statut"] == "Exercice crise cyber"
    assert "exercice_crise_requis" not in upload.headers
    [unknown] = [p for p in upload.problems if p.check == "finess_repertoire"]
    assert unknown.row == HEADER_ROW + 2 and unknown.value == luhn_key("85099990")
    # no name month: the latest registration or exercise done (October 2024)
    assert upload.period == dt.date(2024, 10, 1)
    values, connection = state_indicators([upload])
    assert_matches_workbook(values, path)
    assert value(values, "crisis_exercise_status", segment="realise")[:2] == (103, 129)
    assert (
        connection.execute("SELECT count(*) FROM staging.care_registrations WHERE departement = '72'").fetchone()[0]
        == value(values, "care_registration_rate", "departement", "72")[1]
    )


def test_csv_upload(tmp_path, sample_path, reference, settings):
    sheet = load_workbook(sample_path)[DETAIL]
    lines = [
        ";".join("" if v is None else (v.strftime("%d/%m/%Y") if isinstance(v, dt.datetime) else str(v)) for v in row)
        for row in sheet.iter_rows(min_row=HEADER_ROW, values_only=True)
    ]
    path = tmp_path / "CARE_202411.csv"
    path.write_bytes("\n".join(lines).encode("cp1252"))
    upload = parse(path, reference, settings)
    assert upload.accepted and upload.period == dt.date(2024, 11, 1) and not upload.problems
    values, _ = state_indicators([upload])
    assert value(values, "care_registration_rate")[:2] == (130, 140)


# --- bad inputs, each rejected alone ---------------------------------------------------------------


def _bad(
    tmp_path,
    sample_path,
    reference,
    settings,
    column: int,
    text,
    *,
    where=lambda v: norm(v) in YES,
    where_column: int = 6,
) -> tuple[ParsedUpload, int]:
    rows = []

    def edit(sheet):
        rows.append(first_row_where(sheet, where_column, where))
        sheet.cell(rows[0], column).value = text

    path = edit_detail(sample_path, tmp_path / f"2024-12 bad {column}.xlsx", edit)
    return parse(path, reference, settings), rows[0]


@pytest.mark.parametrize(
    ("column", "text", "header", "letter", "words"),
    [
        (
            4,
            "Clinique",
            "Catégorie",
            "D",
            "n'est pas reconnue comme une valeur admise pour « catégorie ». "
            "Saisissez « GHT » (ou « public »), « ESPIC » (ou « privé non lucratif ») ou « privé lucratif » (ou « privé »).",
        ),
        (5, "Non", "Candidat", "E", "inscrit au programme CARE (cellule F"),
        (
            9,
            "En cours",
            "Statut exercice de crise",
            "I",
            "valeur admise pour « statut de l'exercice de crise ». "
            "Saisissez « réalisé » (ou « fait »), « programmé » (ou « planifié ») ou « à réaliser » (ou « à faire »).",
        ),
        (
            3,
            "Bretagne",
            "Département",
            "C",
            "valeur admise pour « département ». Saisissez « 01 » (ou « Ain »), « 02 » (ou « Aisne »),",
        ),
    ],
)
def test_bad_value_is_rejected_naming_the_cell(
    tmp_path, sample_path, reference, settings, column, text, header, letter, words
):
    upload, row = _bad(tmp_path, sample_path, reference, settings, column, text)
    assert not upload.accepted
    problem = errors(upload.problems)[0]
    # an unknown word in a column that must be filled is also reported as missing, on the same cell
    assert {(p.row, p.column, p.cell) for p in errors(upload.problems)} == {(row, header, f"{letter}{row}")}
    assert problem.value == text
    assert words in f"{problem.message} {problem.action}"
    assert problem.sheet == DETAIL and problem.file.startswith("2024-12 bad")


def test_departement_outside_the_care_scope_is_rejected_naming_the_territory(
    tmp_path, sample_path, reference, settings
):
    upload, row = _bad(tmp_path, sample_path, reference, settings, 3, "35")
    [problem] = errors(upload.problems)
    assert not upload.accepted and problem.check == "departement_hors_region"
    assert (problem.row, problem.cell, problem.value) == (row, f"C{row}", "35")
    assert problem.message == (
        "Le département 35 (Ille-et-Vilaine) est hors du périmètre du suivi CARE : la région "
        "Pays de la Loire (52), celle du territoire de l'entrepôt, le département de la Sarthe "
        "(72)."
    )
    assert "départements 44, 49, 53, 72, 85" in problem.action


def test_finess_of_another_region_is_rejected(tmp_path, sample_path, reference, settings):
    other = luhn_key("35000001")
    upload, row = _bad(tmp_path, sample_path, reference, settings, 1, other)
    [problem] = errors(upload.problems)
    assert not upload.accepted and problem.check == "finess_hors_region"
    assert (problem.row, problem.cell, problem.value) == (row, f"A{row}", other)


def test_finess_with_a_wrong_key_or_twice_is_rejected(tmp_path, sample_path, reference, settings):
    upload, row = _bad(tmp_path, sample_path, reference, settings, 1, "440000017")
    assert not upload.accepted and [p.cell for p in errors(upload.problems)] == [f"A{row}"]
    assert "clé de contrôle" in errors(upload.problems)[0].message

    def duplicate(sheet):
        sheet.cell(HEADER_ROW + 2, 1).value = sheet.cell(HEADER_ROW + 1, 1).value

    upload = parse(edit_detail(sample_path, tmp_path / "2024-12 doublon.xlsx", duplicate), reference, settings)
    assert not upload.accepted and {p.row for p in errors(upload.problems)} == {HEADER_ROW + 1, HEADER_ROW + 2}


# --- the CARE scope follows the territory in scope ---------------------------------------------------

PDL_AND_BRITTANY = {
    **dict.fromkeys(("44", "49", "53", "72", "85"), "52"),
    **dict.fromkeys(("22", "29", "35", "56"), "53"),
}


def national_pools(departements: dict[str, str]) -> dict[str, list[dict]]:
    """Health establishments of the national reference in these départements, in three arbitrary categories."""
    pools: dict[str, list[dict]] = {"ght": [], "non_lucratif": [], "prive": []}
    with (Path(__file__).resolve().parents[1] / "reference" / "finess_etab_sante_france_stock20210108.csv").open(
        encoding="utf-8"
    ) as f:
        for n, r in enumerate(csv.DictReader(f)):
            if r["departement"] in departements:
                pools[("ght", "non_lucratif", "prive")[n % 3]].append(
                    {"finess": r["nofinesset"], "raison_sociale": r["rs"], "departement": r["departement"]}
                )
    return pools


def test_the_care_scope_is_the_region_of_the_territory(tmp_path, sample_path, settings):
    """Two régions in one follow-up: France computes each région and département; Brittany rejects the
    Pays de la Loire rows naming its région; any département of Pays de la Loire keeps région 52."""
    path = build_care_followup(
        tmp_path / "2025-01 suivi CARE national.xlsx",
        category_totals={"ght": 60, "non_lucratif": 50, "prive": 40},
        category_candidates={"ght": 55, "non_lucratif": 45, "prive": 30},
        category_registered={"ght": 50, "non_lucratif": 40, "prive": 20},
        crisis_done=60,
        crisis_scheduled=10,
        crisis_todo=15,
        establishments=national_pools(PDL_AND_BRITTANY),
        seed=5,
    )
    france = parse(path, reference_data(REFERENCE_DIR, "france"), settings)
    assert france.accepted and not france.problems, [p.as_text() for p in france.problems]
    values, _ = state_indicators([france])
    assert set(values.filter(pl.col("territory_level") == "region")["territory_code"]) == {"52", "53"}
    assert_matches_workbook(values, path, PDL_AND_BRITTANY)
    both = [value(values, "care_registration_rate", "region", code)[:2] for code in ("52", "53")]
    assert sum(n for n, _ in both) == 110 and sum(d for _, d in both) == 150

    brittany = parse(path, reference_data(REFERENCE_DIR, "region:53"), settings)
    assert not brittany.accepted
    pdl_rows = sum(1 for p in errors(brittany.problems) if p.check == "departement_hors_region")
    assert pdl_rows == value(values, "care_registration_rate", "region", "52")[1]
    assert "hors du périmètre du suivi CARE : la région Bretagne (53)." in errors(brittany.problems)[0].message

    loire = parse(sample_path, reference_data(REFERENCE_DIR, "44"), settings)
    assert loire.accepted
    values, _ = state_indicators([loire])
    assert value(values, "care_registration_rate")[:2] == (130, 140)
    in_sarthe = parse(path, reference_data(REFERENCE_DIR), settings)
    assert {p.check for p in errors(in_sarthe.problems)} == {"departement_hors_region"}
    assert (
        "la région Pays de la Loire (52), celle du territoire de l'entrepôt, le département de la Sarthe (72)"
        in errors(in_sarthe.problems)[0].message
    )


# --- states: history by file, the latest state wins ------------------------------------------------


def test_latest_state_supersedes_and_history_is_kept(tmp_path, sample_path, reference, settings):
    later = build_care_followup(
        tmp_path / "suivi CARE 2024-12.xlsx",
        crisis_done=110,
        crisis_scheduled=5,
        crisis_todo=14,
        category_registered={"ght": 78, "non_lucratif": 34, "prive": 21},
    )
    older = build_care_followup(
        tmp_path / "2024-09 suivi CARE.xlsx", category_registered={"ght": 70, "non_lucratif": 30, "prive": 15}, seed=3
    )
    uploads = [parse(p, reference, settings) for p in (sample_path, later, older)]
    assert [u.period for u in uploads] == [dt.date(2024, 10, 1), dt.date(2024, 12, 1), dt.date(2024, 9, 1)]
    values, connection = state_indicators(uploads)  # the 2024-09 file is loaded last but is older
    assert value(values, "care_registration_rate")[:2] == (133, 140)
    assert set(values["period"]) == {dt.date(2024, 12, 1)}
    assert set(values["upload_sha256"].explode()) == {uploads[1].sha256}
    assert_matches_workbook(values, later)
    assert connection.sql(
        "SELECT period, count(*) FROM staging.care_registrations GROUP BY 1 ORDER BY 1"
    ).fetchall() == [(dt.date(2024, 9, 1), 140), (dt.date(2024, 10, 1), 140), (dt.date(2024, 12, 1), 140)]

    # same state date: the file loaded later wins
    corrected = build_care_followup(
        tmp_path / "2024-12 suivi CARE corrigé.xlsx",
        seed=11,
        category_registered={"ght": 78, "non_lucratif": 34, "prive": 20},
    )
    values, _ = state_indicators([*uploads, parse(corrected, reference, settings)])
    assert value(values, "care_registration_rate")[:2] == (132, 140)
    values, _ = state_indicators([uploads[0], parse(corrected, reference, settings), uploads[1]])
    assert value(values, "care_registration_rate")[:2] == (133, 140)


def test_state_period_rules(tmp_path):
    frame = pl.DataFrame(
        {
            "date_inscription": [dt.date(2024, 5, 2), None],
            "exercice_crise_statut": ["realise", "programme"],
            "date_exercice": [dt.date(2024, 8, 30), dt.date(2025, 1, 15)],
        }
    )
    assert state_period(Path("2024-06 suivi.xlsx"), frame) == dt.date(2024, 6, 1)
    assert state_period(Path("suivi CARE PDL 2024_07 v2.xlsx"), frame) == dt.date(2024, 7, 1)
    assert state_period(Path("CARE-202403.csv"), frame) == dt.date(2024, 3, 1)
    # the latest date, not a scheduled exercise's future date
    assert state_period(Path("suivi CARE 440000016.xlsx"), frame) == dt.date(2024, 8, 1)
    empty = tmp_path / "suivi.csv"
    empty.write_text("x")
    os.utime(empty, (dt.datetime(2023, 2, 3).timestamp(),) * 2)
    assert state_period(empty, frame.clear()) == dt.date(2023, 2, 1)


# --- the steward's words: parsed once, to the codes that are stored --------------------------------


def test_choice_columns_turn_words_into_codes(tmp_path, reference):
    def variants(words):
        return [v for w in words for v in (w, w.upper(), f"  {w.title()} ", w.replace(" ", "-"))]

    columns = {c.name: c for c in SOURCE.columns}
    departements = {
        "44": "44",
        "49.0": "49",
        "53 - Mayenne": "53",
        "Vendée": "85",
        "MAINE-ET-LOIRE": "49",
        "loire atlantique": "44",
        "Sarthe (72)": "72",
        "72 sarthe": "72",
        "35": "35",
        "Ille-et-Vilaine": "35",
        "1": "01",
        "2a": "2A",
        "Corse-du-Sud (2A)": "2A",
        "974": "974",
        "La Réunion": "974",
        "Côte d'Or": "21",
    }
    cases = {
        "categorie": {
            **{v: code for w, code in CATEGORY.items() for v in variants([w])},
            "Privé à but non-lucratif": "non_lucratif",
            "ÉTABLISSEMENT PUBLIC": "ght",
            "Clinique": None,
        },
        "exercice_crise_statut": {
            **{v: code for w, code in STATUS.items() for v in variants([w])},
            "À réaliser": "a_realiser",
            "Programmée": "programme",
            "En cours": None,
        },
        "departement": {**departements, "Bretagne": None, "44 - Vendée": None, "20": None, "975": "975"},
    }
    for name, expected in cases.items():
        frame = pl.DataFrame({"v": list(expected)})
        parsed = frame.select(columns[name].parser(reference).parse(pl.col("v")))["v"].to_list()
        assert dict(zip(expected, parsed)) == expected, name

    # the typed frame holds the codes and load.sql stores them as they are; an empty département is the
    # establishment's in the reference (an EJ: where most of its establishments are), else the FINESS's
    n = 4
    entity = "750721334"  # a Paris legal entity whose establishments of Pays de la Loire are in 44
    assert reference_departement(entity) == "44"
    frame = pl.DataFrame(
        {
            "source_row": list(range(n)),
            "finess": ["440000016", "720000017", "850000019", entity],
            "finess_ej": [None] * n,
            "raison_sociale": [None] * n,
            "departement": ["44", None, "85", None],
            "categorie": ["ght", "non_lucratif", "prive", "prive"],
            "candidat": [True] * n,
            "inscrit": [True] * n,
            "date_inscription": [None] * n,
            "exercice_crise_requis": [None] * n,
            "exercice_crise_statut": ["realise", None, "a_realiser", None],
            "date_exercice": [None] * n,
        },
        schema_overrides={
            "date_inscription": pl.Date,
            "date_exercice": pl.Date,
            "exercice_crise_requis": pl.Boolean,
            "raison_sociale": pl.String,
            "finess_ej": pl.String,
        },
    )
    upload = ParsedUpload(
        path=tmp_path / "x.xlsx",
        unit=SOURCE,
        sha256="0" * 64,
        size=0,
        modified_at=dt.datetime.now(),
        frame=frame,
        period=dt.date(2024, 1, 1),
    )
    upload.frame = SOURCE.derive(upload, reference)
    assert not errors(p for rule in SOURCE.rules for p in rule(upload, reference))
    _, connection = state_indicators([upload])
    stored = connection.sql(
        "SELECT departement, region, categorie, exercice_crise_statut FROM "
        "staging.care_registrations ORDER BY source_row"
    ).fetchall()
    assert stored == [
        ("44", "52", "ght", "realise"),
        ("72", "52", "non_lucratif", None),
        ("85", "52", "prive", "a_realiser"),
        ("44", "52", "prive", None),
    ]
