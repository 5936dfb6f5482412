"""Source events (register of promotion and inclusion actions, objectives 1, 2 and 5): the roadmap's
e-health day, values counted independently from the workbooks, the register that supersedes itself,
and each bad input rejected alone with its cell named.

Most tests validate with parse_upload and compute with the unit's own SQL in an in-memory DuckDB;
two run the whole Dagster job. Expected values are read from the workbooks with openpyxl and the
test's own reading of the contract (type words, objectives of each type, EPCI of each commune).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import unicodedata
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest
from openpyxl import load_workbook

from assets.events import SOURCE, objectives_written
from assets.events.sample import SAMPLE_NAME, build_register, sample_events
from pipelines.contract import reference_data
from pipelines.foundation.problems import errors, warnings
from pipelines.validation.parse import ParsedUpload, parse_upload
from pipelines.warehouse.database import ensure_schema
from pipelines.warehouse.indicators import compute_indicators
from pipelines.warehouse.staging import load_upload
from tests.conftest import copy_sample, indicator, published, run_pipeline
from tests.conftest import sample_path as shipped_sample

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
HEADER_ROW = 3
Q4_2023 = "2023-10-01"
# The test's own reading of the contract: type words -> code, and the objectives of each type.
TYPE = {
    "atelier mes": "atelier_mes",
    "atelier d activation mon espace sante": "atelier_mes",
    "atelier mon espace sante": "atelier_mes",
    "matinee de sensibilisation": "matinee_sensibilisation",
    "matinee": "matinee_sensibilisation",
    "journee departementale": "journee_departementale",
    "webinaire": "webinaire",
    "soiree elus": "soiree_elus",
    "formation des professionnels de sante": "formation_professionnels",
    "stand": "stand",
    "accompagnement ehpad": "accompagnement_ehpad_esms",
    "accompagnement esms": "accompagnement_ehpad_esms",
    "mediation numerique": "mediation_numerique",
}
OBJECTIVES = {
    "atelier_mes": {1, 2},
    "matinee_sensibilisation": {1},
    "journee_departementale": {5},
    "webinaire": {5},
    "soiree_elus": {3},
    "formation_professionnels": {2},
    "stand": {1},
    "accompagnement_ehpad_esms": {1},
    "mediation_numerique": {1},
}
EPCI_BY_NAME = {"cc du val de sarthe": "247200629", "cc du pays flechois": "247200348"}


def norm(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def commune_epci() -> dict[str, str]:
    with (REFERENCE_DIR / "cog2025_communes_72.csv").open(encoding="utf-8") as handle:
        return {row["code_insee"]: row["epci_siren"] for row in csv.DictReader(handle)}


def expected_values(path: Path) -> dict[tuple, int | None]:
    """{(indicator, level, code, quarter, segment): value} read from the register with openpyxl."""
    sheet = load_workbook(path, data_only=True).active
    rows = sheet.iter_rows(min_row=HEADER_ROW, values_only=True)
    header = [norm(h) for h in next(rows)]
    epci_of = commune_epci()
    sums: dict[tuple, list] = defaultdict(list)
    for values in rows:
        cell = dict(zip(header, values))
        if not cell.get("date"):
            continue
        day = cell["date"].date()
        quarter = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        kind = TYPE[norm(cell["type d action"])]
        written = cell.get("objectif s")
        objectives = {int(n) for n in norm(written).split() if n.isdigit()} if written else OBJECTIVES[kind]
        commune = cell.get("code commune")
        epci = cell.get("epci")
        epci = EPCI_BY_NAME.get(norm(epci), epci) if epci else epci_of.get(commune)
        measures = {
            "events_held": 1,
            "event_participants": cell["nombre de participants"],
            "event_workshops": cell["ateliers proposes"],
            "event_experience_reports": cell["retours d experience"],
            "event_partner_stands": cell["stands partenaires"],
        }
        if 1 in objectives:
            measures |= {"inclusion_actions": 1, "inclusion_participants": cell["nombre de participants"]}
        if 2 in objectives:
            measures |= {"mes_promotion_events": 1, "mes_promotion_participants": cell["nombre de participants"]}
        for level, code in (("departement", "72"), ("epci", epci)):
            if code is None:
                continue
            for name, amount in measures.items():
                for segment in (None, kind):
                    sums[(name, level, code, quarter, segment)].append(amount)
            sums[("event_experience_reports", level, code, quarter, "telesante")].append(cell["dont telesante"])
    expected = {}
    for key, amounts in sums.items():
        known = [a for a in amounts if a is not None]
        if known:
            expected[key] = sum(known)
        elif key[0].endswith("participants"):
            expected[key] = None
    return expected


def parse(path: Path, reference, settings, territory: str | None = None) -> ParsedUpload:
    ref = reference if territory is None else reference_data(REFERENCE_DIR, territory)
    return parse_upload(path, SOURCE, ref, settings.limits)


def computed(uploads: list[ParsedUpload]) -> tuple[pl.DataFrame, duckdb.DuckDBPyConnection]:
    """The unit's SQL on accepted uploads, loaded in this order, in an in-memory DuckDB."""
    connection = duckdb.connect()
    ensure_schema(connection, [SOURCE])
    for order, upload in enumerate(uploads, start=1):
        assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
        load_upload(connection, upload, order)
    return compute_indicators(connection, SOURCE).pl(), connection


def as_dict(values: pl.DataFrame) -> dict[tuple, int | None]:
    return {
        (r["indicator_id"], r["territory_level"], r["territory_code"], r["period"], r["segment"]): r["numerator"]
        for r in values.iter_rows(named=True)
    }


def value(values: pl.DataFrame, indicator_id: str, segment=None, period=Q4_2023, level="departement", code="72"):
    row = values.filter(
        (pl.col("indicator_id") == indicator_id)
        & (pl.col("territory_level") == level)
        & (pl.col("territory_code") == code)
        & (pl.col("period") == dt.date.fromisoformat(period))
        & pl.col("segment").eq_missing(segment)
    )
    assert row.height == 1, (indicator_id, segment, period, level, code, row)
    return row["numerator"][0]


def row_of(sheet, title: str) -> int:
    return next(r for r in range(HEADER_ROW + 1, sheet.max_row + 1) if sheet.cell(r, 2).value == title)


def edited(source: Path, target: Path, edit) -> Path:
    book = load_workbook(source)
    edit(book.active)
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


@pytest.fixture(scope="module")
def sample_path() -> Path:
    return shipped_sample("events", SAMPLE_NAME)


# --- the roadmap's figures from the sample -----------------------------------------------------------


def test_the_departmental_e_health_day_reads_the_roadmaps_figures(sample_path, reference, settings):
    upload = parse(sample_path, reference, settings)
    assert upload.accepted and not upload.problems, [p.as_text() for p in upload.problems]
    assert upload.period == dt.date(2024, 12, 1) and upload.sheet == "Registre"
    values, _ = computed([upload])
    day = "journee_departementale"
    assert value(values, "event_participants", day) == 110
    assert value(values, "event_workshops", day) == 8
    assert value(values, "event_experience_reports", day) == 14
    assert value(values, "event_experience_reports", "telesante") == 8
    assert value(values, "event_partner_stands", day) == 12
    assert value(values, "events_held", day) == 1
    # the Val de Sarthe evening of 2023, held under its CLS, counted in its EPCI
    assert value(values, "events_held", "soiree_elus", "2023-04-01", "epci", "247200629") == 1
    assert set(values["unit"]) == {"nombre"} and values["denominator"].null_count() == values.height


def test_every_value_is_the_count_read_from_the_register(sample_path, reference, settings):
    values, _ = computed([parse(sample_path, reference, settings)])
    expected = expected_values(sample_path)
    assert as_dict(values) == expected
    # a year of workshops and mornings in real Sarthe communes: objective 1 in each quarter of 2024
    for quarter in ("2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"):
        assert value(values, "inclusion_actions", None, quarter) >= 6
        assert value(values, "mes_promotion_events", "atelier_mes", quarter) == 6
    assert len({k[2] for k in expected if k[1] == "epci"}) >= 12


def test_another_register_gives_its_own_numbers(tmp_path, reference, settings):
    events = sample_events(seed=7, journee=(150, 10, 20, 5, 9))
    events.append(
        {
            "date": dt.date(2023, 11, 30),
            "intitule": "Webinaire télésanté en EHPAD",
            "type": "Webinaire",
            "participants": 40,
            "retours_experience": 3,
            "retours_experience_telesante": 3,
        }
    )
    path = build_register(tmp_path / "registre.csv", events)
    upload = parse(path, reference, settings)
    assert upload.accepted, [p.as_text() for p in upload.problems]
    # no month in the name: the month of the latest event held
    assert upload.period == dt.date(2024, 12, 1)
    values, _ = computed([upload])
    assert value(values, "event_participants", "journee_departementale") == 150
    assert value(values, "event_workshops", "journee_departementale") == 10
    assert value(values, "event_experience_reports", "journee_departementale") == 20
    assert value(values, "event_experience_reports", "telesante") == 5 + 3
    assert value(values, "event_experience_reports") == 20 + 3
    assert value(values, "event_partner_stands", "journee_departementale") == 9
    assert value(values, "events_held", "webinaire") == 1


def test_participants_unknown_is_a_note_and_other_sums_are_left_out(tmp_path, reference, settings):
    path = build_register(
        tmp_path / "2025-03 registre.xlsx",
        [
            {"date": dt.date(2025, 1, 14), "type": "Atelier MES", "code_commune": "72181"},
            {
                "date": dt.date(2025, 2, 4),
                "type": "Atelier MES",
                "code_commune": "72181",
                "objectifs": "Objectifs 1 et 4",
            },
            {"date": dt.date(2025, 2, 20), "type": "Stand", "epci": "247 200 629", "participants": 30},
        ],
    )
    upload = parse(path, reference, settings)
    assert upload.accepted, [p.as_text() for p in upload.problems]
    values, connection = computed([upload])
    assert value(values, "events_held", None, "2025-01-01") == 3
    assert value(values, "inclusion_actions", None, "2025-01-01") == 3
    assert value(values, "mes_promotion_events", None, "2025-01-01") == 1  # the second names 1 and 4 only
    assert value(values, "event_participants", None, "2025-01-01") == 30
    [(note, shown)] = (
        values.filter((pl.col("indicator_id") == "event_participants") & (pl.col("segment") == "atelier_mes"))
        .select("note", "value")
        .unique()
        .rows()
    )
    assert shown is None and "non renseigné" in note
    assert values.filter(pl.col("indicator_id") == "event_workshops").height == 0
    assert connection.sql(
        "SELECT objectifs, objectifs_declares FROM staging.events ORDER BY source_row"
    ).fetchall() == [
        ([1, 2], False),
        ([1, 4], True),
        ([1], False),
    ]
    assert value(values, "events_held", "stand", "2025-01-01", "epci", "247200629") == 1


def test_objectives_as_stewards_write_them():
    written = ["1", "1, 2", "Objectif 3", "objectifs 1 et 2", "2.0", "n° 5", " 2 ; 1 ", "9", "1, 12", "deux", None]
    parsed = pl.DataFrame({"o": written}).select(objectives_written(pl.col("o")))["o"].to_list()
    assert parsed == [[1], [1, 2], [3], [1, 2], [2], [5], [1, 2], None, None, None, None]


def test_a_future_event_is_a_warning_and_counted_once_held(tmp_path, reference, settings):
    soon = dt.date.today() + dt.timedelta(days=40)
    path = build_register(
        tmp_path / "registre a venir.xlsx",
        [
            {"date": dt.date(2024, 5, 2), "type": "Matinée", "code_commune": "72154", "participants": 25},
            {"date": soon, "type": "Matinée", "code_commune": "72154", "participants": 0},
        ],
    )
    upload = parse(path, reference, settings)
    assert upload.accepted
    [warning] = warnings(upload.problems)
    assert (
        warning.check == "evenement_a_venir" and warning.row == HEADER_ROW + 2 and warning.cell == f"A{HEADER_ROW + 2}"
    )
    values, _ = computed([upload])
    assert values.filter(pl.col("period") > dt.date(2024, 4, 1)).height == 0
    assert value(values, "events_held", None, "2024-04-01") == 1


def test_an_event_without_place_is_the_departements_and_needs_one_in_a_region(tmp_path, reference, settings):
    path = build_register(
        tmp_path / "2024-06 webinaires.xlsx",
        [{"date": dt.date(2024, 6, 4), "type": "Webinaire", "participants": 70}],
    )
    values, _ = computed([parse(path, reference, settings)])
    assert value(values, "events_held", None, "2024-04-01") == 1
    assert values.filter(pl.col("territory_level") == "epci").height == 0
    regional = parse(path, reference, settings, territory="region:52")
    [problem] = errors(regional.problems)
    assert problem.check == "lieu_manquant" and problem.row == HEADER_ROW + 1
    assert "Pays de la Loire" in problem.message


# --- the register supersedes itself; history in audit.upload ------------------------------------------


def test_a_later_register_replaces_the_earlier_one(tmp_path, reference, settings):
    first = build_register(tmp_path / "2024-06 registre.xlsx", sample_events()[:10])
    later = build_register(tmp_path / "2024-12 registre.xlsx", sample_events(journee=(120, 8, 14, 8, 12)))
    uploads = [parse(p, reference, settings) for p in (first, later)]
    values, connection = computed(uploads)
    assert value(values, "event_participants", "journee_departementale") == 120
    assert connection.sql("SELECT count(*), count(DISTINCT upload_sha256) FROM staging.events").fetchall() == [
        (uploads[1].rows, 1)
    ]
    values, connection = computed(uploads[::-1])  # the order of arrival decides, not the name
    assert connection.sql("SELECT count(*) FROM staging.events").fetchall() == [(10,)]
    assert value(values, "event_participants", "journee_departementale") == 110


def test_through_dagster_a_later_register_supersedes_and_bad_files_change_nothing(sample_path, settings):
    copy_sample(settings, "events")
    assert run_pipeline(settings).published
    query = "SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL"
    with published(settings) as connection:
        before = connection.sql(query).fetchall()
        assert indicator(connection, "event_participants", segment="journee_departementale", period=Q4_2023)[0] == 110

    folder = settings.raw_dir / "events"
    later_time = (sample_path.stat().st_mtime + 3600,) * 2
    bad = {
        "negatif": lambda s: setattr(s.cell(row_of(s, "Journée départementale de la e-santé"), 10), "value", -110),
        "telesante": lambda s: setattr(s.cell(row_of(s, "Journée départementale de la e-santé"), 13), "value", 15),
        "commune": lambda s: setattr(s.cell(row_of(s, "Journée départementale de la e-santé"), 7), "value", "72999"),
    }
    for name, edit in bad.items():
        path = edited(sample_path, folder / f"2025-01 registre {name}.xlsx", edit)
        os.utime(path, later_time)  # they arrive after the sample: accepted, they would replace it
    assert run_pipeline(settings).published
    with published(settings) as connection:
        assert connection.sql(query).fetchall() == before
        statuses = dict(connection.sql("SELECT file_name, status FROM audit.upload").fetchall())
    assert statuses == {
        SAMPLE_NAME: "accepted",
        "2025-01 registre negatif.xlsx": "rejected",
        "2025-01 registre telesante.xlsx": "rejected",
        "2025-01 registre commune.xlsx": "rejected",
    }

    later = build_register(folder / "2025-02 registre.xlsx", sample_events(journee=(125, 8, 14, 8, 12)))
    os.utime(later, (later_time[0] + 60,) * 2)
    assert run_pipeline(settings).published
    with published(settings) as connection:
        assert indicator(connection, "event_participants", segment="journee_departementale", period=Q4_2023)[0] == 125
        accepted = connection.sql(
            "SELECT file_name FROM audit.upload WHERE source_id = 'events' AND status = 'accepted' ORDER BY 1"
        ).fetchall()
        loaded = connection.sql("SELECT DISTINCT register_period FROM staging.events").fetchall()
    assert accepted == [(SAMPLE_NAME,), ("2025-02 registre.xlsx",)]  # the history stays in audit.upload
    assert loaded == [(dt.date(2025, 2, 1),)]


# --- bad input, each rejected alone with its cell named ---------------------------------------------

JOURNEE_TITLE = "Journée départementale de la e-santé"


@pytest.mark.parametrize(
    ("column", "letter", "text", "header", "check", "words", "found"),
    [
        # the unit's pandera checks are reported under their own names
        (10, "J", -5, "Nombre de participants", "effectif_positif", "ne peut pas être négatif", "-5"),
        (10, "J", "12,5", "Nombre de participants", "format_integer", "nombre entier", "12,5"),
        (11, "K", "huit", "Ateliers proposés", "format_integer", "nombre entier", "huit"),
        (13, "M", 15, "dont télésanté", "telesante_au_plus_retours", "dépassent le nombre de retours", "15"),
        (7, "G", "72999", "Code commune", "commune_inconnue", "n'existe pas parmi les communes du territoire", "72999"),
        (8, "H", "CC Imaginaire", "EPCI", "format_choice", "valeur admise pour « EPCI »", "CC Imaginaire"),
        (
            8,
            "H",
            "CC du Pays Fléchois",
            "EPCI",
            "commune_hors_epci",
            "appartient à l'EPCI « CU Le Mans Métropole », pas à « CC du Pays Fléchois »",
            "247200348",
        ),
        (4, "D", "9", "Objectif(s)", "objectifs_reconnus", "numéros de 1 à 8", "9"),
        (
            3,
            "C",
            "Conférence",
            "Type d'action",
            "format_choice",
            "valeur admise pour « type d'événement »",
            "Conférence",
        ),
    ],
)
def test_bad_value_is_rejected_alone_naming_its_cell(
    tmp_path, sample_path, reference, settings, column, letter, text, header, check, words, found
):
    rows = []

    def edit(sheet):
        rows.append(row_of(sheet, JOURNEE_TITLE))
        sheet.cell(rows[0], column).value = text

    upload = parse(edited(sample_path, tmp_path / f"2025-01 bad {column}.xlsx", edit), reference, settings)
    assert not upload.accepted
    [problem] = errors(upload.problems)
    assert (problem.row, problem.column, problem.cell, problem.check) == (rows[0], header, f"{letter}{rows[0]}", check)
    assert problem.value == found and problem.sheet == "Registre"
    assert words in problem.message + " " + problem.action
    if not check.startswith("format_"):  # a cell that was read: the row is named by its title
        assert problem.subject == JOURNEE_TITLE


def test_missing_type_column_and_empty_register_are_rejected(tmp_path, sample_path, reference, settings):
    upload = parse(edited(sample_path, tmp_path / "sans type.xlsx", lambda s: s.delete_cols(3)), reference, settings)
    [problem] = errors(upload.problems)
    assert "colonne obligatoire « type d'événement »" in problem.message and problem.row == HEADER_ROW
    empty = parse(build_register(tmp_path / "vide.xlsx", []), reference, settings)
    assert not empty.accepted and "aucune ligne de données" in errors(empty.problems)[0].message


# --- the views of objectives 1, 2 and 5 ------------------------------------------------------------


def test_objective_views_hold_the_events(sample_warehouse):
    with published(sample_warehouse) as connection:
        day = connection.execute(
            "SELECT indicateur, valeur_affichee, grain, segment_libelle FROM kpi.v_objectif_5_ressources "
            "WHERE niveau = 'departement' AND segment = 'journee_departementale' ORDER BY indicateur"
        ).fetchall()
        assert day == [
            ("event_experience_reports", "14", "trimestre", "journée départementale de la e-santé"),
            ("event_participants", "110", "trimestre", "journée départementale de la e-santé"),
            ("event_partner_stands", "12", "trimestre", "journée départementale de la e-santé"),
            ("event_workshops", "8", "trimestre", "journée départementale de la e-santé"),
            ("events_held", "1", "trimestre", "journée départementale de la e-santé"),
        ]
        for view, ids in (
            ("v_objectif_1_inclusion", {"inclusion_actions", "inclusion_participants"}),
            ("v_objectif_2_mon_espace_sante", {"mes_promotion_events", "mes_promotion_participants"}),
        ):
            found = {r[0] for r in connection.execute(f"SELECT DISTINCT indicateur FROM kpi.{view}").fetchall()}
            assert ids <= found, view
        latest = connection.execute(
            "SELECT periode, numerateur FROM kpi.v_objectif_1_inclusion WHERE indicateur = 'inclusion_actions' "
            "AND niveau = 'departement' AND segment IS NULL"
        ).fetchall()
    expected = expected_values(shipped_sample("events", SAMPLE_NAME))
    assert latest == [
        (dt.date(2024, 10, 1), expected[("inclusion_actions", "departement", "72", dt.date(2024, 10, 1), None)])
    ]
