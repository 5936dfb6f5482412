"""Source telehealth_offer (objective 6): the offer of specialties and the telemedicine deployment.

Most tests validate with parse_upload and compute the indicators in an in-memory DuckDB through the
unit's own staging.sql / load.sql / indicators.sql; two run the whole Dagster job, one evaluates the
upload sensor. Expected figures are counted from the workbooks with openpyxl and the reference CSV
files, independently of the unit's code; the sample's are also the press release's and the roadmap's.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import time
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest
from openpyxl import load_workbook

from assets.telehealth_offer import RECONCILIATION, SOURCE, date_in_name
from assets.telehealth_offer.sample import (
    build_workbook,
    drawn_structures,
    offer_of,
    release_structures,
)
from pipelines.contract import discover_units
from pipelines.foundation.problems import errors, warnings
from pipelines.validation.parse import ParsedUpload, parse_upload
from pipelines.validation.reports import write_rejection_report
from pipelines.warehouse.database import ensure_schema
from pipelines.warehouse.indicators import compute_indicators, run_indicator_checks
from pipelines.warehouse.staging import load_reference_tables, load_upload
from tests.conftest import REFERENCE_DIR, copy_sample, indicator, published, run_pipeline
from tests.conftest import sample_path as shipped_sample

SAMPLE = "2024-10-17 telesante Sarthe.xlsx"
STRUCTURES, OFFER = "Structures", "Offre"
HEADER_ROW = 3
# The sheet's columns (A..J), as the sample writes them.
NAME, FINESS, COMMUNE, TYPE, ROLE, PHASE, STATUS, FIRST_ACT = 1, 2, 3, 5, 6, 7, 9, 10
# The test's own reading of the words (independent of the unit's lists).
TYPE_CODE = {
    "centre hospitalier": "ch",
    "ehpad": "ehpad",
    "msp": "msp",
    "centre de sante": "centre_sante",
    "cabinet liberal": "cabinet_liberal",
    "fam": "fam",
}
TYPE_FINESS = {"ch": {"355"}, "ehpad": {"500"}, "msp": {"603"}, "centre_sante": {"124"}, "fam": {"437", "448"}}


# --- helpers -------------------------------------------------------------------------------------------


def norm(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def reference_rows(name: str) -> list[dict]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


EPCI = {r["code_insee"]: r["epci_siren"] for r in reference_rows("cog2025_communes_72.csv")}
ESTABLISHMENTS = {r["nofinesset"]: r for r in reference_rows("finess_et_72_stock20210108.csv")}


def workbook_structures(path: Path) -> list[dict]:
    """The structures as the test reads them: commune declared, else the FINESS reference's."""
    sheet = load_workbook(path, data_only=True)[STRUCTURES]
    rows = []
    for r in range(HEADER_ROW + 1, sheet.max_row + 1):
        cell = lambda c, r=r: sheet.cell(r, c).value  # noqa: E731
        if cell(NAME) is None:
            continue
        finess = cell(FINESS)
        commune = cell(COMMUNE) or ESTABLISHMENTS[finess]["code_insee_derive"]
        rows.append(
            {
                "row": r,
                "name": cell(NAME),
                "finess": finess,
                "commune": commune,
                "epci": EPCI.get(commune),
                "type": TYPE_CODE[norm(cell(TYPE))],
                "role": norm(cell(ROLE)),
                "phase": int(norm(cell(PHASE)).removeprefix("phase ")),
                "active": norm(cell(STATUS)) == "realise des actes",
            }
        )
    return rows


def expected_values(path: Path) -> dict[tuple, tuple]:
    """(indicator, level, code, segment) -> (numerator, denominator) for the structure indicators."""
    expected: dict[tuple, list[int]] = {}
    for s in workbook_structures(path):
        places = [("departement", "72")] + ([("epci", s["epci"])] if s["epci"] else [])
        for level, code in places:
            for segment in (None, f"phase_{s['phase']}", f"type_{s['type']}"):
                expected.setdefault(("telemedicine_structures", level, code, segment), [0, None])[0] += 1
            if "requerant" in s["role"]:
                for segment in (None, f"phase_{s['phase']}"):
                    counts = expected.setdefault(("telemedicine_structures_active", level, code, segment), [0, 0])
                    counts[0] += s["active"]
                    counts[1] += 1
    return {k: tuple(v) for k, v in expected.items()}


def open_expertise_specialties(path: Path) -> int:
    sheet = load_workbook(path, data_only=True)[OFFER]
    return len(
        {
            norm(sheet.cell(r, 2).value)
            for r in range(HEADER_ROW + 1, sheet.max_row + 1)
            if norm(sheet.cell(r, 3).value) == "teleexpertise" and norm(sheet.cell(r, 5).value) == "ouverte"
        }
    )


def parse(path: Path, reference, settings) -> ParsedUpload:
    return parse_upload(path, SOURCE, reference, settings.limits)


def state_indicators(uploads: list[ParsedUpload], reference) -> tuple[pl.DataFrame, duckdb.DuckDBPyConnection]:
    """The unit's SQL on accepted uploads, loaded in this order, in an in-memory DuckDB."""
    connection = duckdb.connect()
    ensure_schema(connection, [SOURCE])
    load_reference_tables(connection, reference, ["commune"])
    for order, upload in enumerate(uploads, start=1):
        assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
        load_upload(connection, upload, order)
    return compute_indicators(connection, SOURCE).pl(), connection


def value(values: pl.DataFrame, indicator_id: str, level="departement", code="72", segment=None) -> tuple:
    row = values.filter(
        (pl.col("indicator_id") == indicator_id)
        & (pl.col("territory_level") == level)
        & (pl.col("territory_code") == code)
        & pl.col("segment").eq_missing(segment)
    )
    assert row.height == 1, (indicator_id, level, code, segment, row)
    return row.select("numerator", "denominator", "value").row(0)


def assert_matches_workbook(values: pl.DataFrame, path: Path) -> None:
    """Every structure value (all segments but role and status) equals the count read from the workbook."""
    expected = expected_values(path)
    for (indicator_id, level, code, segment), counts in expected.items():
        assert value(values, indicator_id, level, code, segment)[:2] == counts, (indicator_id, level, code, segment)
    shown = values.filter(
        pl.col("indicator_id").str.starts_with("telemedicine_structures")
        & ~pl.col("segment").fill_null("").str.contains("^(role|statut)_")
    )
    assert shown.height == len(expected)


def edited(source: Path, target: Path, edit) -> Path:
    """A copy of a workbook, edit(book) applied."""
    book = load_workbook(source)
    edit(book)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def row_named(sheet, words: str) -> int:
    return next(r for r in range(HEADER_ROW + 1, sheet.max_row + 1) if words in norm(sheet.cell(r, NAME).value))


@pytest.fixture(scope="module")
def sample_path() -> Path:
    return shipped_sample("telehealth_offer", SAMPLE)


# --- the sample ----------------------------------------------------------------------------------------


def test_the_sample_names_the_structures_of_the_release_with_their_finess(sample_path):
    structures = workbook_structures(sample_path)
    assert len(structures) == 28
    by_name = {s["name"]: s for s in structures}
    # two sites of one EHPAD found by the CNSA file's site names, the MSP of Ballon registered in Montbizot
    assert by_name["Centre Hospitalier du Mans"]["finess"] == "720000033"
    assert by_name["EHPAD Bel Air"]["finess"] == "720002047"
    assert by_name["EHPAD Bertrand de Puisard"]["finess"] == "720002252"
    assert (by_name["MSP de Ballon-Saint-Mars"]["finess"], by_name["MSP de Ballon-Saint-Mars"]["commune"]) == (
        "720020213",
        "72205",
    )
    without = [s for s in structures if s["finess"] is None]
    assert [s["type"] for s in without] == ["cabinet_liberal"] and without[0]["commune"] == "72124"
    with_finess = [s for s in structures if s["finess"]]
    assert len({s["finess"] for s in with_finess}) == 27
    for s in with_finess:  # the real establishment: in the reference, same commune, a category of its type
        known = ESTABLISHMENTS[s["finess"]]
        assert known["code_insee_derive"] == s["commune"], s
        assert known["categetab"] in TYPE_FINESS[s["type"]], s
    types = Counter((s["phase"], s["type"]) for s in structures if "requerant" in s["role"])
    assert types == {(1, "ehpad"): 8, (1, "msp"): 3, (1, "cabinet_liberal"): 1, (1, "centre_sante"): 2, (1, "fam"): 1,
                     (2, "ehpad"): 12}  # fmt: skip
    assert [s["name"] for s in structures if "appui" in s["role"]] == ["Centre Hospitalier du Mans"]
    assert open_expertise_specialties(sample_path) == 26


def test_sample_is_accepted_with_the_reconciliation_warning(sample_path, reference, settings):
    upload = parse(sample_path, reference, settings)
    assert upload.accepted and upload.rows == 28 and upload.sheet == STRUCTURES
    assert upload.period == dt.date(2024, 10, 17)
    [warning] = upload.problems
    assert warning.check == RECONCILIATION and warning.sheet == "Synthèse" and warning.cell == "A3"
    assert warning.message == "La synthèse déclare 27 structures du déploiement, le détail en compte 28."


def test_sample_figures(sample_path, reference, settings):
    values, _ = state_indicators([parse(sample_path, reference, settings)], reference)
    assert value(values, "teleexpertise_specialties") == (26, None, 26.0)
    assert value(values, "telemedicine_structures") == (28, None, 28.0)
    assert value(values, "telemedicine_structures", segment="phase_1")[0] == 16  # the support structure included
    assert value(values, "telemedicine_structures", segment="phase_2")[0] == 12
    assert value(values, "telemedicine_structures", segment="type_ehpad")[0] == 20
    assert value(values, "telemedicine_structures", segment="role_appui")[0] == 1
    assert value(values, "telemedicine_structures_active", segment="phase_1") == pytest.approx((7, 15, 7 / 15))
    assert value(values, "telemedicine_structures_active", segment="phase_2") == pytest.approx((1, 12, 1 / 12))
    assert value(values, "telemedicine_structures_active") == pytest.approx((8, 27, 8 / 27))
    # Le Mans Métropole: the CH (support), 3 EHPAD, an MSP and a municipal health centre; 5 of 6 active
    assert value(values, "telemedicine_structures", "epci", "247200132")[0] == 7
    assert value(values, "telemedicine_structures_active", "epci", "247200132")[:2] == (5, 6)
    assert set(values["period"]) == {dt.date(2024, 10, 17)}
    assert values.filter(pl.col("indicator_id") == "telemedicine_acts").height == 0  # no acts in the sample
    assert_matches_workbook(values, sample_path)


def test_sample_through_dagster_then_bad_files_change_nothing(sample_path, reference, settings):
    copy_sample(settings, "telehealth_offer")
    assert run_pipeline(settings).published
    kpi = "SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value WHERE indicator_id LIKE 'tele%' ORDER BY ALL"
    with published(settings) as connection:
        assert indicator(connection, "teleexpertise_specialties") == (26, None, 26.0)
        assert indicator(connection, "telemedicine_structures", segment="phase_1")[0] == 16
        assert indicator(connection, "telemedicine_structures_active", segment="phase_1")[:2] == (7, 15)
        assert indicator(connection, "telemedicine_structures_active", segment="phase_2")[:2] == (1, 12)
        before = connection.sql(kpi).fetchall()
        [(passed, severity, message)] = connection.execute(
            "SELECT passed, severity, message FROM audit.check_result WHERE check_name = ?", [RECONCILIATION]
        ).fetchall()
        # the objective's view shows them by name
        named = connection.sql(
            "SELECT libelle, territoire, periode, grain, segment_libelle, numerateur, denominateur, valeur_affichee "
            "FROM kpi.v_objectif_6_telesante WHERE niveau = 'departement' AND (segment IS NULL OR segment "
            "IN ('phase_1', 'phase_2')) ORDER BY indicateur, segment NULLS FIRST"
        ).fetchall()
        epci = connection.sql(
            "SELECT territoire, numerateur, denominateur FROM kpi.v_objectif_6_telesante "
            "WHERE indicateur = 'telemedicine_structures_active' AND niveau = 'epci' AND segment IS NULL "
            "AND code_territoire = '247200132'"
        ).fetchall()
    assert not passed and severity == "avertissement" and "déclare 27 " in message and "compte 28." in message
    october = dt.date(2024, 10, 17)
    specialties = "Spécialités disponibles en téléexpertise sur la plateforme régionale"
    structures, active = "Structures du déploiement de la télémédecine", "Structures requérantes réalisant des actes de télémédecine"  # fmt: skip
    assert named == [
        (specialties, "Sarthe", october, "date", None, 26, None, "26"),
        (structures, "Sarthe", october, "date", None, 28, None, "28"),
        (structures, "Sarthe", october, "date", "phase 1", 16, None, "16"),
        (structures, "Sarthe", october, "date", "phase 2", 12, None, "12"),
        (active, "Sarthe", october, "date", None, 8, 27, "29,6 %"),
        (active, "Sarthe", october, "date", "structures requérantes de la phase 1", 7, 15, "46,7 %"),
        (active, "Sarthe", october, "date", "structures requérantes de la phase 2", 1, 12, "8,3 %"),
    ]
    assert epci == [("CU Le Mans Métropole", 5, 6)]

    # Each bad file is a later state (30/11/2024): accepted, it would replace the sample's values.
    folder = settings.raw_dir / "telehealth_offer"
    for name, edit in BAD_EDITS.items():

        def later(book, edit=edit):
            edit(book)
            offer = book[OFFER]
            for r in range(HEADER_ROW + 1, offer.max_row + 1):
                offer.cell(r, 1).value = dt.date(2024, 11, 30)

        edited(sample_path, folder / f"2024-11-30 telesante {name}.xlsx", later)
    assert run_pipeline(settings).published
    with published(settings) as connection:
        after = connection.sql(kpi).fetchall()
        statuses = dict(
            connection.execute(
                "SELECT file_name, status || ' ' || errors FROM audit.upload WHERE source_id = 'telehealth_offer'"
            ).fetchall()
        )
        periods = connection.sql("SELECT DISTINCT period FROM staging.telehealth_structure").fetchall()
    assert after == before
    assert statuses == {SAMPLE: "accepted 0", **{f"2024-11-30 telesante {n}.xlsx": "rejected 1" for n in BAD_EDITS}}
    assert periods == [(october,)]


# --- each bad input, alone -------------------------------------------------------------------------------


def _set(words: str, column: int, text):
    def edit(book):
        sheet = book[STRUCTURES]
        sheet.cell(row_named(sheet, words), column).value = text

    return edit


BAD_EDITS = {
    "phase": _set("delante", PHASE, "Phase A"),
    "statut": _set("chanterelles", STATUS, "En cours d'installation"),
    "sans date": _set("amicie", STATUS, "Réalise des actes"),  # a structure « formée », no first act
    "avant 2018": _set("souvenance", FIRST_ACT, dt.date(2018, 9, 14)),
    "pharmacie": _set("bel air", FINESS, "720009968"),  # Pharmacie de Ballon, same commune
}
# (name, words of the row, column letter, check, value shown, words of the message)
BAD_CASES = [
    ("phase", "delante", "G", "format_choice", "Phase A", "« phase 1 » (ou « 1 »)"),
    ("statut", "chanterelles", "I", "format_choice", "En cours d'installation", "« réalise des actes »"),
    ("sans date", "amicie", "J", "premier_acte_sans_date", None, "date de son premier acte n'est pas renseignée"),
    ("avant 2018", "souvenance", "J", "premier_acte_avant_deploiement", "14/09/2018", "octobre 2018"),
    ("pharmacie", "bel air", "B", "finess_categorie", "720009968", "« Pharmacie d'Officine » (620)"),
]


@pytest.mark.parametrize(
    ("name", "words", "letter", "check", "shown", "says"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_each_bad_input_is_rejected_alone_naming_its_cell(
    tmp_path, sample_path, reference, settings, name, words, letter, check, shown, says
):
    path = edited(sample_path, tmp_path / f"2024-10-17 {name}.xlsx", BAD_EDITS[name])
    row = row_named(load_workbook(path)[STRUCTURES], words)
    upload = parse(path, reference, settings)
    assert not upload.accepted
    [problem] = errors(upload.problems)
    assert (problem.sheet, problem.row, problem.cell, problem.check) == (STRUCTURES, row, f"{letter}{row}", check)
    assert problem.value == shown and problem.file == path.name
    assert says in f"{problem.message} {problem.action}"
    if not check.startswith("format_"):  # the unit's rules name the structure (the shared value parser does not)
        assert problem.subject == load_workbook(path)[STRUCTURES].cell(row, NAME).value


def test_bad_cells_of_the_offer_and_acts_sheets_are_named(tmp_path, sample_path, reference, settings):
    def offer_mode(book):
        book[OFFER].cell(HEADER_ROW + 5, 3).value = "Télésurveillance"

    upload = parse(edited(sample_path, tmp_path / "2024-10-17 mode.xlsx", offer_mode), reference, settings)
    [problem] = errors(upload.problems)
    assert (problem.sheet, problem.row, problem.cell, problem.value) == (OFFER, 8, "C8", "Télésurveillance")
    assert "« téléexpertise » (ou « télé-expertise »)" in problem.action and problem.subject == "Géronto-psychiatrie"
    # the steward's annotated copy points at the cell of the offer sheet
    report, annotated = write_rejection_report(upload, settings.limits)
    assert "feuille « Offre », ligne 8, colonne « Mode », cellule C8 (Géronto-psychiatrie)" in report.read_text(
        encoding="utf-8"
    )
    cell = load_workbook(annotated)[OFFER]["C8"]
    assert cell.fill.start_color.rgb == "FFFF9999" and "valeur admise pour « mode »" in cell.comment.text

    structures = release_structures()
    liberal = next(s for s in structures if s.finess is None)
    acts = [
        (dt.date(2024, 9, 1), None, "720000033", 12, 3),
        (dt.date(2024, 9, 1), liberal.name, None, 2, None),
        (dt.date(2024, 9, 1), "Cabinet inconnu", None, 1, 0),  # not a structure of the workbook
        (dt.date(2024, 12, 1), None, "720017581", 4, 0),  # after the state date
        (dt.date(2024, 9, 1), None, "720000033", 1, 1),  # the CH's September twice
    ]
    path = build_workbook(tmp_path / "2024-10-17 actes.xlsx", structures, acts=acts)
    upload = parse(path, reference, settings)
    found = {(p.sheet, p.cell, p.check, p.value) for p in errors(upload.problems)}
    assert found == {
        ("Actes", "A4", "acte_en_double", "09/2024"),
        ("Actes", "B6", "acte_structure_inconnue", "Cabinet inconnu"),
        ("Actes", "A7", "acte_mois_hors_periode", "12/2024"),
        ("Actes", "A8", "acte_en_double", "09/2024"),
    }
    assert not [p for p in upload.problems if p.sheet == STRUCTURES]


def test_finess_and_commune_rules(tmp_path, reference, settings):
    structures = release_structures()
    ehpad = next(s for s in structures if s.name == "EHPAD Delante")
    msp = next(s for s in structures if s.name == "MSP du Mans Quartiers Sud")
    changed = {
        # a well-formed number absent from the 2021 reference: accepted, with a warning
        ehpad.name: replace(ehpad, finess="720099993"),
        # an MSP declared as an EHPAD: accepted, with a warning naming the category
        msp.name: replace(msp, type_word="EHPAD"),
    }
    path = build_workbook(tmp_path / "2024-10-17 avertissements.xlsx", [changed.get(s.name, s) for s in structures])
    upload = parse(path, reference, settings)
    assert upload.accepted
    found = {(p.check, p.value) for p in warnings(upload.problems)}
    assert found == {("finess_repertoire", "720099993"), ("finess_type", "EHPAD")}
    [mismatch] = [p for p in upload.problems if p.check == "finess_type"]
    assert "« Maison de santé (L.6223-3) » (603)" in mismatch.message
    values, _ = state_indicators([upload], reference)
    assert value(values, "telemedicine_structures", segment="type_ehpad")[0] == 21

    errors_found = {}
    for label, change in {
        "no finess": {"finess": None},  # an EHPAD without FINESS
        "outside": {"finess": "490000031"},  # a Maine-et-Loire number
        "commune": {"commune_code": "72999"},
    }.items():
        rows = [replace(s, **change) if s.name == ehpad.name else s for s in structures]
        upload = parse(build_workbook(tmp_path / f"2024-10-17 {label}.xlsx", rows), reference, settings)
        errors_found[label] = [(p.check, p.cell) for p in errors(upload.problems)]
    row = HEADER_ROW + 1 + [s.name for s in structures].index(ehpad.name)
    assert errors_found == {
        "no finess": [("finess_absent", f"B{row}")],
        "outside": [("finess_hors_territoire", f"B{row}")],
        "commune": [("commune_inconnue", f"C{row}")],
    }


# --- other numbers, other states -----------------------------------------------------------------------


def test_other_numbers_give_their_own_values(tmp_path, reference, settings):
    state = dt.date(2025, 3, 31)
    structures = drawn_structures({1: (10, 4), 2: (6, 1), 3: (4, 2)}, seed=11, state_date=state)
    declared = {"Structures du déploiement": 21, "Structures requérantes en phase 3": 4, "Spécialités": 19}
    path = build_workbook(
        tmp_path / "etat telesante.xlsx", structures, offer_of(state, 19, suspended=2), state_date=state,
        declared=declared,
    )  # fmt: skip
    upload = parse(path, reference, settings)
    assert upload.accepted and not upload.problems, [p.as_text() for p in upload.problems]
    assert upload.period == state
    values, _ = state_indicators([upload], reference)
    assert value(values, "teleexpertise_specialties") == (19, None, 19.0)
    assert open_expertise_specialties(path) == 19
    assert value(values, "telemedicine_structures")[0] == 21
    assert [value(values, "telemedicine_structures", segment=f"phase_{n}")[0] for n in (1, 2, 3)] == [11, 6, 4]
    for phase, counts in {"phase_1": (4, 10), "phase_2": (1, 6), "phase_3": (2, 4), None: (7, 20)}.items():
        assert value(values, "telemedicine_structures_active", segment=phase)[:2] == counts
    assert set(values["period"]) == {state}
    assert_matches_workbook(values, path)

    # the same deployment, its summary wrong twice: both named
    wrong = {**declared, "Structures requérantes en phase 3": 5, "Spécialités": 18}
    path = build_workbook(
        tmp_path / "2025-03-31 faux.xlsx", structures, offer_of(state, 19, suspended=2), state_date=state,
        declared=wrong,
    )  # fmt: skip
    messages = [p.message for p in parse(path, reference, settings).problems]
    assert messages == [
        "La synthèse déclare 5 structures requérantes en phase 3, le détail en compte 4.",
        "La synthèse déclare 18 spécialités ouvertes en téléexpertise, le détail en compte 19.",
    ]


def test_latest_state_supersedes_and_the_offer_comes_from_the_latest_that_has_one(
    tmp_path, sample_path, reference, settings
):
    first = parse(sample_path, reference, settings)
    structures = [
        replace(s, status="Réalise des actes", first_act=dt.date(2025, 1, 14))
        if s.name in ("EHPAD Delante", "EHPAD Albert Trotte")
        else s
        for s in release_structures()
    ]
    later_path = build_workbook(tmp_path / "2025-02 telesante.xlsx", structures, with_offer=False)
    later = parse(later_path, reference, settings)
    assert later.accepted and later.period == dt.date(2025, 2, 28)  # a month alone: its end
    assert [p.check for p in later.problems] == ["feuille_offre"]
    values, connection = state_indicators([first, later], reference)
    assert value(values, "telemedicine_structures_active", segment="phase_2")[:2] == (3, 12)
    assert set(values.filter(pl.col("indicator_id") != "teleexpertise_specialties")["period"]) == {dt.date(2025, 2, 28)}
    specialties = values.filter(pl.col("indicator_id") == "teleexpertise_specialties")
    assert specialties.select("period", "numerator").rows() == [(dt.date(2024, 10, 17), 26)]
    [check] = run_indicator_checks(connection, SOURCE)
    assert check["check_name"] == "offre_a_jour" and not check["passed"]
    assert "date du 17/10/2024, le dernier état déposé du 28/02/2025 n'a pas de feuille « Offre »" in check["message"]
    # history is kept: both states in staging
    assert connection.sql("SELECT count(DISTINCT period) FROM staging.telehealth_structure").fetchall() == [(2,)]


def test_acts_per_month_the_latest_state_wins(tmp_path, reference, settings):
    structures = release_structures()
    liberal = next(s for s in structures if s.finess is None)
    september = [
        (dt.date(2024, 8, 1), None, "720000033", 30, 4),
        (dt.date(2024, 9, 1), None, "720000033", 25, 6),
        (dt.date(2024, 9, 1), liberal.name, None, 3, None),  # Écommoy, by name (no FINESS)
        (dt.date(2024, 9, 1), "EHPAD LA SOUVENANCE", None, 5, 1),  # by name, other spelling
    ]
    first = parse(build_workbook(tmp_path / "a.xlsx", structures, acts=september), reference, settings)
    assert first.accepted, [p.as_text() for p in first.problems]
    corrected = [
        (dt.date(2024, 9, 1), None, "720000033", 27, 6),
        (dt.date(2024, 10, 1), None, "720000033", 11, 2),
    ]
    later = parse(
        build_workbook(tmp_path / "b.xlsx", structures, offer_of(dt.date(2024, 10, 31), 26),
                       state_date=dt.date(2024, 10, 31), acts=corrected),
        reference,
        settings,
    )  # fmt: skip
    assert later.accepted and later.period == dt.date(2024, 10, 31)
    values, _ = state_indicators([first, later], reference)

    def acts(month: str, segment=None, level="departement", code="72"):
        rows = values.filter(
            (pl.col("indicator_id") == "telemedicine_acts")
            & (pl.col("period") == dt.date.fromisoformat(month))
            & (pl.col("territory_level") == level)
            & (pl.col("territory_code") == code)
            & pl.col("segment").eq_missing(segment)
        )
        return rows["numerator"].to_list()

    assert acts("2024-08-01") == [34] and acts("2024-08-01", "teleexpertise") == [30]
    # September: the CH corrected by the later state (27 + 6), Écommoy 3 (no téléconsultation given), La Souvenance 6
    assert acts("2024-09-01") == [27 + 6 + 3 + 5 + 1]
    assert acts("2024-09-01", "teleexpertise") == [27 + 3 + 5]
    assert acts("2024-09-01", "teleconsultation") == [6 + 1]
    assert acts("2024-10-01") == [13]
    # Écommoy is in the CC de l'Orée de Bercé-Belinois, Le Mans in Le Mans Métropole
    assert acts("2024-09-01", level="epci", code=EPCI["72124"]) == [3]
    assert acts("2024-09-01", level="epci", code=EPCI["72181"]) == [27 + 6 + 5 + 1]
    assert (
        values.filter(pl.col("indicator_id") == "telemedicine_acts")
        .filter(pl.col("period") == dt.date(2024, 9, 1))["upload_sha256"]
        .list.len()
        .max()
        == 2
    )


def test_header_and_value_variants(tmp_path, sample_path, reference, settings):
    """Other headers and other words give the same values."""
    headers = {
        "Structure": "Nom de la structure",
        "N° FINESS ET": "FINESS",
        "Code commune": "Code INSEE",
        "Type de structure": "Type",
        "Rôle": "Rôle de la structure",
        "Phase": "Vague",
        "Statut": "Avancement",
        "Date du premier acte": "Premier acte",
    }
    words = {
        "Requérante": "structure demandeuse",
        "Structure d'appui": "APPUI",
        "Réalise des actes": "en activité",
        "Formée": "formé",
        "Prévue": "à équiper",
        "Centre de santé": "Centre municipal de santé",
        "Cabinet libéral": "Maison de santé libérale",
        "FAM": "EAM",
        "MSP": "maison de santé pluri-professionnelle",
    }

    def edit(book):
        sheet = book[STRUCTURES]
        for cell in sheet[HEADER_ROW]:
            cell.value = headers.get(cell.value, cell.value)
        for r in range(HEADER_ROW + 1, sheet.max_row + 1):
            for c in (TYPE, ROLE, STATUS):
                sheet.cell(r, c).value = words.get(sheet.cell(r, c).value, sheet.cell(r, c).value)
            phase = sheet.cell(r, PHASE).value
            sheet.cell(r, PHASE).value = f"Vague {phase}" if phase == 1 else f"P{phase}"
            sheet.cell(r, COMMUNE).value = None  # the commune comes from the FINESS reference
        sheet.cell(row_named(sheet, "ecommoy"), COMMUNE).value = "72124"  # no FINESS: the commune is needed
        book[OFFER].cell(HEADER_ROW, 3).value = "Modalité"
        book[OFFER].cell(HEADER_ROW + 1, 3).value = "TLE"

    path = edited(sample_path, tmp_path / "2024-10-17 variantes.xlsx", edit)
    upload = parse(path, reference, settings)
    assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
    assert upload.headers["phase"] == "Vague" and upload.headers["statut"] == "Avancement"
    values, _ = state_indicators([upload], reference)
    original, _ = state_indicators([parse(sample_path, reference, settings)], reference)
    columns = ["indicator_id", "territory_level", "territory_code", "period", "segment", "numerator", "denominator"]
    assert values.select(columns).sort(columns).rows() == original.select(columns).sort(columns).rows()


def test_a_csv_of_structures_only_is_accepted_with_a_warning(tmp_path, sample_path, reference, settings):
    sheet = load_workbook(sample_path, data_only=True)[STRUCTURES]
    path = tmp_path / "2024-12-02 structures.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        for row in sheet.iter_rows(min_row=HEADER_ROW, values_only=True):
            writer.writerow([v.strftime("%d/%m/%Y") if isinstance(v, dt.datetime) else v for v in row])
    upload = parse(path, reference, settings)
    assert upload.accepted and upload.period == dt.date(2024, 12, 2) and upload.rows == 28
    assert [p.check for p in upload.problems] == ["feuille_offre"]
    values, _ = state_indicators([upload], reference)
    assert value(values, "telemedicine_structures_active", segment="phase_1")[:2] == (7, 15)
    assert values.filter(pl.col("indicator_id") == "teleexpertise_specialties").height == 0


def test_state_date_from_the_file_name():
    assert date_in_name(Path("2024-10-17 telesante.xlsx")) == dt.date(2024, 10, 17)
    assert date_in_name(Path("telesante_20250105.xlsx")) == dt.date(2025, 1, 5)
    assert date_in_name(Path("etat au 05-01-2025.xlsx")) == dt.date(2025, 1, 5)
    assert date_in_name(Path("2024-02 telesante.xlsx")) == dt.date(2024, 2, 29)
    assert date_in_name(Path("telesante 720000033.xlsx")) is None


# --- the sensor: a new folder, nothing to change outside the unit ---------------------------------------


def test_the_upload_sensor_handles_the_new_folder(settings):
    from dagster import DagsterInstance, SensorResult, build_sensor_context

    from pipelines.orchestration.definitions import build_definitions
    from pipelines.orchestration.sensors import scan_uploads

    sources = [unit.source_id for unit in discover_units()]
    assert "telehealth_offer" in sources
    [copied] = copy_sample(settings, "telehealth_offer")
    scan = scan_uploads(settings.raw_dir, sources, {}, set(), now=time.time() + 60)  # settled
    assert {s: [p.name for p, _ in files] for s, files in scan.new.items()} == {"telehealth_offer": [SAMPLE]}
    again = scan_uploads(settings.raw_dir, sources, scan.cursor, set(), now=time.time() + 60)
    assert again.new == {}  # taken once
    shutil.copy2(copied, copied.with_name("copie.xlsx"))  # same content, another name: nothing new
    assert scan_uploads(settings.raw_dir, sources, scan.cursor, set(), now=time.time() + 60).new == {}

    # The Dagster sensor, as assembled from the discovered units: a settled file (written a minute ago)
    # gives a validation run for its partition and a refresh of its source.
    copied.with_name("copie.xlsx").unlink()
    past = time.time() - 60
    os.utime(copied, (past, past))
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("raw_uploads")
    with DagsterInstance.ephemeral() as instance:
        result = sensor(build_sensor_context(instance=instance, definitions=definitions))
    assert isinstance(result, SensorResult)
    assert sorted(r.job_name for r in result.run_requests) == [
        "refresh_telehealth_offer",
        "validate_telehealth_offer_upload",
    ]
    [partition] = result.dynamic_partitions_requests
    assert partition.partitions_def_name == "telehealth_offer_uploads"
    assert [key.split(" ", 1)[1] for key in partition.partition_keys] == [SAMPLE]
