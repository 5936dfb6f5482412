"""Source tool_satisfaction (questionnaire on the regional tools, objective 8): mean score and satisfied
rate by tool and quarter, respondents' names and e-mails that never reach the warehouse, and each bad
input rejected alone with its cell named.

Expected values are computed from the files with the csv module (or openpyxl), independently of the
unit's code.
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

from assets.tool_satisfaction import SOURCE
from assets.tool_satisfaction.sample import SAMPLE_NAME, build_wave
from pipelines.foundation.problems import errors
from pipelines.validation.parse import ParsedUpload, parse_upload
from pipelines.warehouse.database import ensure_schema
from pipelines.warehouse.indicators import compute_indicators
from pipelines.warehouse.staging import load_upload
from tests.conftest import copy_sample, indicator, published, run_pipeline
from tests.conftest import sample_path as shipped_sample

TOOL = {"ror": "ror", "telesante qimed": "telesante", "e sante mail": "esante_mail", "autre": "autre"}
Q4_2025 = dt.date(2025, 10, 1)


def norm(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def read_rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = load_workbook(path, data_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, values)) for values in rows]


def expected(path: Path) -> dict[tuple[dt.date, str | None], tuple[int, int, int]]:
    """{(quarter, tool or None): (sum of scores, answers scoring 4 or 5, answers)} read from the file."""
    found: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in read_rows(path):
        moment = row["Horodateur"]
        day = moment.date() if isinstance(moment, dt.datetime) else dt.datetime.strptime(moment[:10], "%d/%m/%Y").date()
        quarter = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        score = int(row["Note de satisfaction (1 à 5)"])
        for segment in (None, TOOL[norm(row["Outil évalué"])]):
            found[(quarter, segment)][0] += score
            found[(quarter, segment)][1] += score >= 4
            found[(quarter, segment)][2] += 1
    return {k: tuple(v) for k, v in found.items()}


def parse(path: Path, reference, settings) -> ParsedUpload:
    return parse_upload(path, SOURCE, reference, settings.limits)


def computed(uploads: list[ParsedUpload]) -> tuple[pl.DataFrame, duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    ensure_schema(connection, [SOURCE])
    for order, upload in enumerate(uploads, start=1):
        assert upload.accepted, [p.as_text() for p in errors(upload.problems)]
        load_upload(connection, upload, order)
    return compute_indicators(connection, SOURCE).pl(), connection


def assert_matches(values: pl.DataFrame, path: Path) -> None:
    """Every value is the one computed from the file, at département level, and nothing else is published."""
    wanted = expected(path)
    assert values.height == 2 * len(wanted)
    assert set(values["territory_level"]) == {"departement"} and set(values["territory_code"]) == {"72"}
    for (quarter, segment), (scores, satisfied, answers) in wanted.items():
        key = (pl.col("period") == quarter) & pl.col("segment").eq_missing(segment)
        mean = values.filter(key & (pl.col("indicator_id") == "tool_satisfaction_score"))
        rate = values.filter(key & (pl.col("indicator_id") == "tool_satisfied_rate"))
        assert mean.select("numerator", "denominator", "unit").row(0) == (scores, answers, "moyenne")
        assert mean["value"][0] == pytest.approx(scores / answers)
        assert rate.select("numerator", "denominator", "unit").row(0) == (satisfied, answers, "taux")
        assert rate["value"][0] == pytest.approx(satisfied / answers)


def rewritten(source: Path, target: Path, row: int, column: str, text: str) -> Path:
    """The csv with one cell changed (row counted from 0 below the header)."""
    rows = read_rows(source)
    rows[row][column] = text
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


@pytest.fixture(scope="module")
def sample_path() -> Path:
    return shipped_sample("tool_satisfaction", SAMPLE_NAME)


# --- the sample wave -----------------------------------------------------------------------------


def test_sample_wave_by_tool_and_quarter(sample_path, reference, settings):
    upload = parse(sample_path, reference, settings)
    assert upload.accepted and not upload.problems, [p.as_text() for p in upload.problems]
    assert upload.period == dt.date(2025, 11, 1) and upload.rows == 124
    assert upload.ignored_columns == ["Commentaire"]
    values, _ = computed([upload])
    assert_matches(values, sample_path)
    assert set(values["period"]) == {Q4_2025}
    everyone = values.filter(pl.col("segment").is_null()).sort("indicator_id").select("numerator", "denominator")
    assert everyone.rows() == [(440, 124), (70, 124)]  # the wave's own counts (SCORES of sample.py)


def test_another_wave_gives_its_own_numbers(tmp_path, reference, settings):
    path = build_wave(
        tmp_path / "satisfaction outils.xlsx",
        {"ror": (0, 1, 2, 3, 4), "esante_mail": (5, 4, 3, 2, 1), "telesante": (0, 0, 0, 0, 7)},
        first_day=dt.date(2026, 3, 2),
        last_day=dt.date(2026, 4, 30),
        without_commune=0.5,
        seed=3,
    )
    upload = parse(path, reference, settings)
    assert upload.accepted, [p.as_text() for p in upload.problems]
    assert upload.period == dt.date(2026, 4, 1)  # no month in the name: the latest answer's
    values, connection = computed([upload])
    assert_matches(values, path)
    assert set(values["period"]) == {dt.date(2026, 1, 1), dt.date(2026, 4, 1)}
    assert "autre" not in set(values["segment"].drop_nulls())
    assert connection.sql(
        "SELECT count(*), count(code_commune) < count(*) FROM staging.tool_satisfaction"
    ).fetchall() == [(32, True)]


# --- bad input, each rejected alone with its cell named ---------------------------------------------


@pytest.mark.parametrize(
    ("column", "letter", "text", "check", "words"),
    [
        ("Note de satisfaction (1 à 5)", "H", "0", "note_entre_1_et_5", "un entier de 1 à 5"),
        ("Note de satisfaction (1 à 5)", "H", "6", "note_entre_1_et_5", "un entier de 1 à 5"),
        ("Note de satisfaction (1 à 5)", "H", "4,5", "format_integer", "nombre entier"),
        ("Note de satisfaction (1 à 5)", "H", "", "valeur_obligatoire", "obligatoire"),
        ("Outil évalué", "G", "Doctolib", "format_choice", "« ROR » (ou « Répertoire opérationnel des ressources »)"),
        ("Commune d'exercice (code INSEE)", "F", "72999", "commune_inconnue", "n'existe pas parmi les communes"),
        ("Commune d'exercice (code INSEE)", "F", "72000", "commune_inconnue", "pas son code postal"),
        ("Horodateur", "A", "03/01/2099 10:00:00", "date_future", "un jour à venir"),
        ("Horodateur", "A", "hier", "format_date", "une date"),
    ],
)
def test_bad_value_is_rejected_alone_naming_its_cell(
    tmp_path, sample_path, reference, settings, column, letter, text, check, words
):
    path = rewritten(sample_path, tmp_path / "2025-11 bad.csv", 9, column, text)
    upload = parse(path, reference, settings)
    assert not upload.accepted
    [problem] = errors(upload.problems)
    line = 11  # the header is line 1
    assert (problem.row, problem.column, problem.cell, problem.check) == (line, column, f"{letter}{line}", check)
    assert problem.value == ({"date_future": text[:10], "valeur_obligatoire": None}.get(check, text))
    assert words in problem.message + " " + problem.action


# --- personal data and the warehouse ---------------------------------------------------------------


def test_names_and_emails_never_reach_the_warehouse_and_bad_files_change_nothing(sample_path, settings):
    copy_sample(settings, "tool_satisfaction")
    assert run_pipeline(settings).published
    folder = settings.raw_dir / "tool_satisfaction"
    later = (sample_path.stat().st_mtime + 3600,) * 2
    for name, column, text in (("note", "Note de satisfaction (1 à 5)", "7"), ("outil", "Outil évalué", "Doctolib")):
        os.utime(rewritten(sample_path, folder / f"2025-11 questionnaire {name}.csv", 3, column, text), later)
    query = "SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL"
    with published(settings) as connection:
        before = connection.sql(query).fetchall()
    assert run_pipeline(settings).published

    rows = read_rows(sample_path)
    personal = {row[c] for row in rows for c in ("Adresse e-mail", "Nom")} | {"@sante.example.fr"}
    with published(settings) as connection:
        assert connection.sql(query).fetchall() == before
        assert indicator(connection, "tool_satisfaction_score", period=str(Q4_2025))[:2] == (440, 124)
        statuses = sorted(r[0] for r in connection.sql("SELECT status FROM audit.upload").fetchall())
        columns = [
            r[0]
            for r in connection.sql(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'staging' AND table_name = 'tool_satisfaction'"
            ).fetchall()
        ]
        texts = connection.sql(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE data_type IN ('VARCHAR', 'VARCHAR[]') "
            "AND schema_name IN ('ref', 'staging', 'kpi', 'audit')"
        ).fetchall()
        leaks = []
        for schema, table, column in texts:
            # identifiers come from the catalogue of the database itself
            found = connection.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE list_has_any(?, [CAST("{column}" AS VARCHAR)]) '
                f'OR contains(CAST("{column}" AS VARCHAR), ?)',
                [sorted(personal), "@sante.example.fr"],
            ).fetchall()[0][0]
            if found:
                leaks.append((schema, table, column, found))
    assert statuses == ["accepted", "rejected", "rejected"]
    assert columns == [
        "wave",
        "date_reponse",
        "outil",
        "note",
        "profession",
        "code_commune",
        "departement",
        "upload_sha256",
        "source_row",
    ]
    assert len(personal) > 100 and leaks == []


def test_objective_8_view(sample_warehouse):
    with published(sample_warehouse) as connection:
        rows = connection.execute(
            "SELECT indicateur, segment_libelle, valeur_affichee, numerateur, denominateur, grain "
            "FROM kpi.v_objectif_8_ergonomie WHERE segment IS NULL OR segment = 'ror' ORDER BY indicateur, segment"
        ).fetchall()
    wanted = expected(shipped_sample("tool_satisfaction", SAMPLE_NAME))
    (all_sum, all_ok, all_n), (ror_sum, ror_ok, ror_n) = wanted[(Q4_2025, None)], wanted[(Q4_2025, "ror")]
    assert rows == [
        ("tool_satisfaction_score", "ROR (Répertoire opérationnel des ressources)", "3,6", ror_sum, ror_n, "trimestre"),
        ("tool_satisfaction_score", None, "3,5", all_sum, all_n, "trimestre"),
        ("tool_satisfied_rate", "ROR (Répertoire opérationnel des ressources)", "58,7 %", ror_ok, ror_n, "trimestre"),
        ("tool_satisfied_rate", None, "56,5 %", all_ok, all_n, "trimestre"),
    ]
