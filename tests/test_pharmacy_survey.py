"""Source pharmacy_survey: the roadmap's figures from the sample, and other waves computed from their data."""

import datetime as dt

import polars as pl

from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from pipelines.contract import unit_by_id
from pipelines.validation.parse import parse_upload
from tests.conftest import copy_sample, indicator, published, run_pipeline, sample_path

UNIT = unit_by_id("pharmacy_survey")
SAMPLE = "2024-06 enquete officines.xlsx"


def test_sample_wave_is_read_with_its_title_rows_variants_and_trailing_rows(settings, reference):
    [path] = copy_sample(settings, "pharmacy_survey", SAMPLE)
    upload = parse_upload(path, UNIT, reference, settings.limits)
    assert upload.accepted, upload.problems
    assert upload.rows == 156
    assert upload.period == dt.date(2024, 6, 1)
    assert upload.sheet == "Réponses"
    assert upload.frame["source_row"].min() == 4  # title on row 1, header on row 3
    # personal data never leaves the reader
    assert not {"repondant_nom", "repondant_email", "repondant_telephone"} & set(upload.frame.columns)


def test_sample_reproduces_the_roadmap_figures(sample_warehouse, reference):
    settings = sample_warehouse
    pharmacies_in_reference = reference.table("finess_et").filter(pl.col("categetab") == "620").height
    with published(settings) as connection:
        assert indicator(connection, "pharmacy_mssante_rate")[:2] == (123, 156)
        assert round(indicator(connection, "pharmacy_mssante_rate")[2], 3) == 0.788
        assert indicator(connection, "pharmacy_fax_rate")[:2] == (142, 156)
        assert round(indicator(connection, "pharmacy_fax_rate")[2], 2) == 0.91
        assert indicator(connection, "pharmacy_fax_rate", segment="mssante")[:2] == (112, 123)
        assert round(indicator(connection, "pharmacy_fax_rate", segment="mssante")[2], 2) == 0.91
        assert indicator(connection, "survey_response_rate")[:2] == (156, pharmacies_in_reference)
        # EPCI and commune values add up to the département
        for level in ("epci", "commune"):
            total = connection.execute(
                "SELECT sum(numerator), sum(denominator) FROM kpi.indicator_value "
                "WHERE indicator_id = 'pharmacy_mssante_rate' AND territory_level = ?",
                [level],
            ).fetchall()[0]
            assert total == (123, 156)
        # lineage: every value reaches its upload in one join
        lineage = connection.execute(
            "SELECT DISTINCT u.file_name FROM kpi.indicator_value v "
            "JOIN audit.upload u ON list_contains(v.upload_sha256, u.sha256) WHERE v.indicator_id LIKE 'pharmacy%'"
        ).fetchall()
        assert lineage == [(SAMPLE,)]


def test_no_personal_data_reaches_the_warehouse(sample_warehouse):
    path = sample_path("pharmacy_survey", SAMPLE)
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True).active
    emails = {c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str) and "@" in c}
    assert len(emails) > 100
    with published(sample_warehouse) as connection:
        columns = connection.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        assert not [c for c in columns if "repondant" in c[2] or "mail" in c[2]]
        for schema, table, column in columns:
            found = connection.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" LIKE \'%@%\''
            ).fetchall()[0][0]
            assert found == 0, (schema, table, column)


def _pharmacies(count: int, offset: int = 0) -> list[dict]:
    return load_sarthe_pharmacies()[offset : offset + count]


def test_other_waves_give_their_own_values_and_the_zero_fax_progress(settings, reference):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir(parents=True)
    first = build_pharmacy_wave(
        folder / "2025-01 vague 2.xlsx",
        _pharmacies(40),
        mssante_count=25,
        fax_count=30,
        fax_among_mssante=18,
        wave=dt.date(2025, 1, 1),
    )
    # a csv from Excel in French Windows: Windows-1252, ';'
    second = build_pharmacy_wave(
        folder / "2025-09 vague 3.csv",
        _pharmacies(50, offset=10),
        mssante_count=41,
        fax_count=12,
        fax_among_mssante=9,
        wave=dt.date(2025, 9, 1),
        fmt="csv",
        encoding="cp1252",
        delimiter=";",
    )
    assert second.read_bytes().decode("cp1252")
    waves = {p: parse_upload(p, UNIT, reference, settings.limits) for p in (first, second)}
    assert all(w.accepted for w in waves.values()), [w.problems for w in waves.values()]
    assert run_pipeline(settings).success

    before, after = waves[first].frame, waves[second].frame
    both = before.join(after, on="finess", suffix="_after")
    had_fax = both.filter(pl.col("fax"))
    dropped = had_fax.filter(~pl.col("fax_after")).height
    not_equipped = both.filter(~pl.col("mssante"))
    newly_equipped = not_equipped.filter(pl.col("mssante_after")).height
    with published(settings) as connection:
        assert indicator(connection, "pharmacy_mssante_rate", period="2025-01-01")[:2] == (25, 40)
        assert indicator(connection, "pharmacy_fax_rate", period="2025-01-01", segment="mssante")[:2] == (18, 25)
        assert indicator(connection, "pharmacy_mssante_rate", period="2025-09-01")[:2] == (41, 50)
        assert indicator(connection, "pharmacy_fax_rate", period="2025-09-01")[:2] == (12, 50)
        assert indicator(connection, "pharmacy_zero_fax_progress", period="2025-09-01", segment="fax_abandonne")[
            :2
        ] == (dropped, had_fax.height)
        assert indicator(connection, "pharmacy_zero_fax_progress", period="2025-09-01", segment="mssante_nouvelle")[
            :2
        ] == (newly_equipped, not_equipped.height)
        assert had_fax.height > 0 and not_equipped.height > 0  # the waves overlap: the progress is meaningful


def test_wave_is_taken_from_the_responses_when_the_name_has_no_month(settings, reference):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir(parents=True)
    path = build_pharmacy_wave(
        folder / "enquete relance.xlsx", _pharmacies(12), mssante_count=6, fax_count=6, wave=dt.date(2025, 3, 1)
    )
    upload = parse_upload(path, UNIT, reference, settings.limits)
    assert upload.accepted, upload.problems
    assert upload.period == dt.date(2025, 3, 1)


def test_a_corrected_file_for_the_same_wave_replaces_the_first(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir(parents=True)
    build_pharmacy_wave(folder / "2025-01 vague.xlsx", _pharmacies(20), mssante_count=5, fax_count=20)
    corrected = build_pharmacy_wave(
        folder / "2025-01 vague corrigee.xlsx",
        _pharmacies(20),
        mssante_count=15,
        fax_count=10,
        wave=dt.date(2025, 1, 1),
    )
    later = corrected.stat().st_mtime + 60
    import os

    os.utime(corrected, (later, later))
    assert run_pipeline(settings).success
    with published(settings) as connection:
        assert indicator(connection, "pharmacy_mssante_rate", period="2025-01-01")[:2] == (15, 20)
