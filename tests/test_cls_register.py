"""Source cls_register (local health contracts, objective 3): the rate of signed, in-force CLS with a
digital-health axis, its 100 % target, one state per month, and each bad input rejected alone.

Expected values come from the test's own reading of the workbook (openpyxl) and of the COG reference
(csv module): which contracts are in force, which territories each one covers.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import os
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest
from openpyxl import load_workbook

from assets.cls_register import SOURCE
from assets.cls_register.sample import SAMPLE_NAME, build_cls_register, sample_contracts
from pipelines.foundation.problems import errors, warnings
from pipelines.validation.parse import ParsedUpload, parse_upload
from pipelines.warehouse.database import ensure_schema
from pipelines.warehouse.indicators import compute_indicators
from pipelines.warehouse.staging import load_reference_tables, load_upload
from tests.conftest import copy_sample, indicator, published, run_pipeline
from tests.conftest import sample_path as shipped_sample

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
HEADER_ROW = 3
RATE = "cls_with_digital_health_rate"
SIGNED = {"signe", "signee", "en vigueur"}
YES = {"oui", "o", "x", "1", "vrai", "yes"}


def norm(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def communes() -> list[dict]:
    with (REFERENCE_DIR / "cog2025_communes_72.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected_rates(path: Path, month: dt.date) -> dict[tuple[str, str], tuple[int, int]]:
    """{(level, code): (in force with a digital axis, in force)} read from the register."""
    reference = communes()
    epci_by_name = {norm(r["epci_nom"]): r["epci_siren"] for r in reference}
    sheet = load_workbook(path, data_only=True).active
    rows = sheet.iter_rows(min_row=HEADER_ROW, values_only=True)
    header = [norm(h) for h in next(rows)]
    month_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for values in rows:
        cell = dict(zip(header, values))
        if not cell.get("identifiant"):
            continue
        epci = cell.get("epci")
        epci = epci_by_name.get(norm(epci), epci) if epci else None
        listed = (
            re.split(r"[\s,;|/]+", (cell.get("communes couvertes") or "").strip())
            if cell.get("communes couvertes")
            else []
        )
        covered = [r for r in reference if r["code_insee"] in listed or (not listed and r["epci_siren"] == epci)]
        territories = {("departement", r["departement"]) for r in covered} | {
            ("epci", r["epci_siren"]) for r in covered
        }
        if epci:
            territories.add(("epci", epci))
        signed, end = cell.get("date de signature"), cell.get("date de fin")
        in_force = (
            norm(cell["statut"]) in SIGNED
            and signed is not None
            and signed.date() <= month_end
            and (end is None or end.date() >= month)
        )
        axis = norm(cell["axe numerique en sante"]) in YES
        for territory in territories:
            counts[territory][0] += in_force and axis
            counts[territory][1] += in_force
    return {k: tuple(v) for k, v in counts.items()}


def parse(path: Path, reference, settings) -> ParsedUpload:
    return parse_upload(path, SOURCE, reference, settings.limits)


def computed(uploads: list[ParsedUpload], reference) -> tuple[pl.DataFrame, duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    ensure_schema(connection, [SOURCE])
    load_reference_tables(connection, reference, ["commune", "epci"])
    for order, upload in enumerate(uploads, start=1):
        assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
        load_upload(connection, upload, order)
    return compute_indicators(connection, SOURCE).pl(), connection


def rates(values: pl.DataFrame, period: dt.date) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (r["territory_level"], r["territory_code"]): (r["numerator"], r["denominator"])
        for r in values.filter(pl.col("period") == period).iter_rows(named=True)
    }


def edited(source: Path, target: Path, edit) -> Path:
    book = load_workbook(source)
    edit(book.active)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def row_of(sheet, identifier: str) -> int:
    return next(r for r in range(HEADER_ROW + 1, sheet.max_row + 1) if sheet.cell(r, 1).value == identifier)


@pytest.fixture(scope="module")
def sample_path() -> Path:
    return shipped_sample("cls_register", SAMPLE_NAME)


# --- the sample ------------------------------------------------------------------------------------


def test_sample_rate_by_departement_and_epci(sample_path, reference, settings):
    upload = parse(sample_path, reference, settings)
    assert upload.accepted and not upload.problems, [p.as_text() for p in upload.problems]
    assert upload.period == dt.date(2025, 6, 1) and upload.rows == 12
    values, connection = computed([upload], reference)
    june = dt.date(2025, 6, 1)
    found = rates(values, june)
    assert found[("departement", "72")] == (6, 9)
    assert found[("epci", "247200629")] == (1, 1)  # the Val de Sarthe, whose CLS holds the 2023 evening
    assert found[("epci", "247200348")] == (0, 1)
    # the Perche sarthois contract, given by its communes, counts in each of its three EPCIs
    assert [found[("epci", e)] for e in ("200072684", "247200686", "200072692")] == [(1, 1)] * 3
    assert found == expected_rates(sample_path, june)
    undefined = values.filter(pl.col("denominator") == 0)
    assert set(undefined["territory_code"]) == {"200070373", "200072700", "200072718"}  # expired, in preparation
    assert undefined["value"].null_count() == 3 and undefined["note"].str.contains("Aucun contrat").all()
    assert set(values["unit"]) == {"taux"}
    assert connection.sql("SELECT count_if(en_vigueur) FROM staging.cls_register").fetchall() == [(9,)]


def test_another_register_and_its_months(tmp_path, reference, settings):
    contracts = [
        {**c, "axe": "Oui"} if c["identifiant"] in ("CLS-72-03", "CLS-72-12") else c for c in sample_contracts()
    ]
    contracts.append(
        {
            "identifiant": "CLS-72-13",
            "nom": "CLS de Sablé et Allonnes",
            "communes": "72264; 72003",
            "date_signature": dt.date(2025, 1, 9),
            "statut": "signée",
            "axe": "non",
        }
    )
    path = build_cls_register(tmp_path / "registre CLS 2026-01.xlsx", contracts)
    upload = parse(path, reference, settings)
    assert upload.accepted and upload.period == dt.date(2026, 1, 1)
    # by January 2026 the Pays Fléchois contract has ended (31/12/2025): a warning, not in force
    assert [p.check for p in warnings(upload.problems)] == ["cls_echu"]
    values, _ = computed([upload], reference)
    january = dt.date(2026, 1, 1)
    assert rates(values, january)[("departement", "72")] == (7, 9)
    assert rates(values, january)[("epci", "247200132")] == (1, 2)  # Le Mans Métropole and Allonnes
    assert rates(values, january) == expected_rates(path, january)


def test_each_month_is_kept_and_a_new_file_for_a_month_replaces_it(tmp_path, reference, settings, sample_path):
    everyone = [{**c, "axe": "Oui"} for c in sample_contracts()]
    later = build_cls_register(tmp_path / "2025-09 registre CLS.xlsx", everyone)
    corrected = build_cls_register(tmp_path / "2025-06 registre CLS corrigé.xlsx", sample_contracts()[:5])
    uploads = [parse(p, reference, settings) for p in (sample_path, later, corrected)]
    values, connection = computed(uploads, reference)
    assert rates(values, dt.date(2025, 9, 1))[("departement", "72")] == (9, 9)
    assert rates(values, dt.date(2025, 6, 1))[("departement", "72")] == (4, 5)
    assert connection.sql("SELECT period, count(*) FROM staging.cls_register GROUP BY 1 ORDER BY 1").fetchall() == [
        (dt.date(2025, 6, 1), 5),
        (dt.date(2025, 9, 1), 12),
    ]


def test_communes_as_stewards_write_them(tmp_path, reference, settings):
    path = build_cls_register(
        tmp_path / "2025-06 communes.csv",
        [
            {
                "identifiant": "A",
                "communes": "72181\n72003 | 7254.0",  # a line break, a pipe, a code Excel wrote as a number
                "date_signature": dt.date(2024, 1, 1),
                "statut": "Signé",
                "axe": "Oui",
            }
        ],
    )
    upload = parse(path, reference, settings)
    [problem] = errors(upload.problems)
    assert problem.check == "commune_inconnue" and "« 07254 »" in problem.message
    fixed = build_cls_register(
        tmp_path / "2025-06 communes ok.csv",
        [
            {
                "identifiant": "A",
                "communes": "72181\n72003 | 72054",
                "date_signature": dt.date(2024, 1, 1),
                "statut": "Signé",
                "axe": "Oui",
            }
        ],
    )
    upload = parse(fixed, reference, settings)
    assert upload.accepted
    _, connection = computed([upload], reference)
    assert connection.sql("SELECT communes FROM staging.cls_register").fetchall() == [(["72181", "72003", "72054"],)]


# --- bad input, each rejected alone with its cell named ---------------------------------------------


@pytest.mark.parametrize(
    ("column", "letter", "text", "header", "check", "words"),
    [
        (6, "F", dt.datetime(2022, 12, 31), "Date de fin", "fin_apres_signature", "précède sa date de signature"),
        (3, "C", "CC Imaginaire", "EPCI", "format_choice", "valeur admise pour « EPCI »"),
        (3, "C", "247200999", "EPCI", "format_choice", "valeur admise pour « EPCI »"),
        (9, "I", -1, "Nombre d'actions e-santé", "effectif_positif", "ne peut pas être négatif"),
        (9, "I", "2,5", "Nombre d'actions e-santé", "format_integer", "nombre entier"),
        (8, "H", "Peut-être", "Axe numérique en santé", "format_yes_no", "Oui ou Non"),
        (7, "G", "Suspendu", "Statut", "format_choice", "« signé » (ou « en vigueur »)"),
        (5, "E", None, "Date de signature", "signature_sans_date", "date de signature est vide"),
    ],
)
def test_bad_value_is_rejected_alone_naming_its_cell(
    tmp_path, sample_path, reference, settings, column, letter, text, header, check, words
):
    rows = []

    def edit(sheet):
        rows.append(row_of(sheet, "CLS-72-01"))
        sheet.cell(rows[0], column).value = text

    upload = parse(edited(sample_path, tmp_path / f"2025-07 bad {column}.xlsx", edit), reference, settings)
    assert not upload.accepted
    [problem] = errors(upload.problems)
    assert (problem.row, problem.column, problem.cell, problem.check) == (rows[0], header, f"{letter}{rows[0]}", check)
    assert words in problem.message + " " + problem.action


def test_unknown_commune_or_no_territory_is_rejected(tmp_path, sample_path, reference, settings):
    def edit(sheet):
        row = row_of(sheet, "CLS-72-07")
        sheet.cell(row, 4).value = sheet.cell(row, 4).value + ", 72999, 75056"

    upload = parse(edited(sample_path, tmp_path / "2025-07 communes.xlsx", edit), reference, settings)
    [problem] = errors(upload.problems)
    assert problem.column == "Communes couvertes" and problem.cell == f"D{HEADER_ROW + 7}"
    assert (
        "« 72999 », « 75056 »" in problem.message
        and problem.subject == "Contrat local de santé du Pays du Perche sarthois"
    )

    def no_place(sheet):
        sheet.cell(row_of(sheet, "CLS-72-02"), 3).value = None

    upload = parse(edited(sample_path, tmp_path / "2025-07 sans lieu.xlsx", no_place), reference, settings)
    [problem] = errors(upload.problems)
    assert problem.check == "territoire_manquant" and problem.cell == f"C{HEADER_ROW + 2}"

    def twice(sheet):
        sheet.cell(HEADER_ROW + 2, 1).value = "CLS-72-01"

    upload = parse(edited(sample_path, tmp_path / "2025-07 doublon.xlsx", twice), reference, settings)
    assert {(p.row, p.column) for p in errors(upload.problems)} == {
        (HEADER_ROW + 1, "Identifiant"),
        (HEADER_ROW + 2, "Identifiant"),
    }


def test_through_dagster_the_target_is_shown_and_bad_files_change_nothing(sample_path, settings):
    copy_sample(settings, "cls_register")
    assert run_pipeline(settings).published
    query = "SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL"
    with published(settings) as connection:
        before = connection.sql(query).fetchall()
        assert indicator(connection, RATE)[:2] == (6, 9)
    folder = settings.raw_dir / "cls_register"
    later = (sample_path.stat().st_mtime + 3600,) * 2
    for name, column, text in (
        ("fin", 6, dt.datetime(2020, 1, 1)),
        ("epci", 3, "CC Imaginaire"),
        ("commune", 4, "72999"),
    ):

        def edit(sheet, column=column, text=text):
            sheet.cell(row_of(sheet, "CLS-72-01"), column).value = text

        os.utime(edited(sample_path, folder / f"2025-06 registre CLS {name}.xlsx", edit), later)
    assert run_pipeline(settings).published
    with published(settings) as connection:
        assert connection.sql(query).fetchall() == before
        statuses = dict(connection.sql("SELECT file_name, status FROM audit.upload").fetchall())
    assert sorted(statuses.values()) == ["accepted", "rejected", "rejected", "rejected"]


def test_objective_3_view_shows_the_target(sample_warehouse):
    with published(sample_warehouse) as connection:
        rows = connection.execute(
            "SELECT territoire, valeur_affichee, numerateur, denominateur, cible, cible_affichee, cible_source, grain "
            "FROM kpi.v_objectif_3_elus_cls WHERE indicateur = ? AND niveau = 'departement'",
            [RATE],
        ).fetchall()
        catalogue = connection.execute(
            "SELECT objective, target, higher_is_better FROM kpi.indicator WHERE indicator_id = ?", [RATE]
        ).fetchall()
        epci = connection.execute(
            "SELECT count(*) FROM kpi.v_objectif_3_elus_cls WHERE niveau = 'epci' AND cible_affichee = '100,0 %'"
        ).fetchall()
    [(place, shown, numerator, denominator, target, target_shown, source, grain)] = rows
    assert (place, shown, numerator, denominator) == ("Sarthe", "66,7 %", 6, 9)
    assert (target, target_shown, grain) == (1.0, "100,0 %", "mois")
    assert "tous les contrats locaux de santé signés" in source
    assert catalogue == [(3, 1.0, True)]
    assert epci == [(14,)]
