"""The impact of an upload on the published indicators, computed before it is deposited
(pipelines/warehouse/preview.py), held against what the pipeline publishes once it is deposited."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from pipelines.contract.discovery import unit_by_id
from pipelines.foundation.files import file_sha256
from pipelines.validation.parse import parse_upload
from pipelines.warehouse.preview import preview_upload
from pipelines.warehouse.publication import published_version
from tests.conftest import REFERENCE_DIR, copy_sample, published, run_pipeline, sample_path
from tests.test_portal_http import JUNE, corrected_wave

PHARMACY = unit_by_id("pharmacy_survey")
MES = unit_by_id("mes_statistics")
MSSANTE = "Officines équipées d'une messagerie sécurisée de santé (MSSanté)"


def values(settings, unit) -> dict[tuple, tuple]:
    """(indicator, level, code, period, segment) -> (numerator, denominator, value) of the unit's published values."""
    with published(settings) as connection:
        rows = connection.execute(
            "SELECT indicator_id, territory_level, territory_code, period, segment, numerator, denominator, value "
            "FROM kpi.indicator_value WHERE list_contains(?, indicator_id)",
            [[i.indicator_id for i in unit.indicators]],
        ).fetchall()
    return {row[:5]: tuple(row[5:]) for row in rows}


def key(change) -> tuple:
    return (change.indicator_id, change.territory_level, change.territory_code, change.period, change.segment)


def deposit_later(settings, path: Path, source_id: str) -> Path:
    """The file into raw/<source>/, arrived after those already there (the order a refresh loads)."""
    target = settings.raw_dir / source_id / path.name
    shutil.copyfile(path, target)
    later = max(p.stat().st_mtime for p in target.parent.iterdir() if p.is_file()) + 60
    os.utime(target, (later, later))
    return target


def assert_preview_is_what_gets_published(settings, unit, upload, preview):
    before = values(settings, unit)
    deposit_later(settings, upload.path, unit.source_id)
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.failures
    after = values(settings, unit)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert {key(c) for c in preview.changes} == changed
    for change in preview.changes:
        assert change.old == before.get(key(change))
        assert change.new == after.get(key(change))


@pytest.mark.slow
def test_a_corrected_wave_shows_old_and_new_values_as_the_pipeline_then_publishes(settings, reference, tmp_path):
    copy_sample(settings, "pharmacy_survey", JUNE)
    assert run_pipeline(settings).published
    version = published_version(settings)
    fingerprint = file_sha256(version)
    upload = parse_upload(
        corrected_wave(tmp_path / "2024-06 enquete corrigee.xlsx"), PHARMACY, reference, settings.limits
    )
    assert upload.accepted

    preview = preview_upload(settings, upload)

    assert preview.published == version.name and not preview.note and not preview.already_loaded
    texts = [c.text for c in preview.changes]
    assert f"{MSSANTE}, Sarthe, 06/2024 : 123 / 156 → 127 / 156" in texts
    departement = [c for c in preview.changes if c.territory_level == "departement"]
    assert {c.indicator_id for c in departement} == {"pharmacy_mssante_rate", "pharmacy_fax_rate"}
    assert preview.changes[0].territory_level == "departement"  # the widest territory first
    assert file_sha256(version) == fingerprint  # the published version is only read
    assert_preview_is_what_gets_published(settings, PHARMACY, upload, preview)


def test_content_already_in_the_warehouse_changes_nothing(sample_warehouse, reference):
    upload = parse_upload(sample_path("pharmacy_survey", JUNE), PHARMACY, reference, sample_warehouse.limits)
    preview = preview_upload(sample_warehouse, upload)
    assert preview.already_loaded and preview.changes == [] and not preview.note


def test_a_new_wave_brings_new_values_and_the_progress_since_the_last_one(sample_warehouse, reference, tmp_path):
    pharmacies = load_sarthe_pharmacies(REFERENCE_DIR)[:150]
    path = build_pharmacy_wave(
        tmp_path / "2024-12 enquete officines.xlsx",
        pharmacies,
        mssante_count=140,
        fax_count=90,
        wave=dt.date(2024, 12, 1),
    )
    upload = parse_upload(path, PHARMACY, reference, sample_warehouse.limits)
    assert upload.accepted, [p.as_text() for p in upload.problems]
    before = values(sample_warehouse, PHARMACY)

    preview = preview_upload(sample_warehouse, upload)

    texts = [c.text for c in preview.changes]
    assert f"{MSSANTE}, Sarthe, 12/2024 : — → 140 / 150" in texts
    assert "Officines possédant encore un fax, Sarthe, 12/2024 : — → 90 / 150" in texts
    assert all(c.old is None and c.period == dt.date(2024, 12, 1) for c in preview.changes)  # June is untouched
    progress = [c for c in preview.changes if c.indicator_id == "pharmacy_zero_fax_progress"]
    assert {c.segment for c in progress} == {"fax_abandonne", "mssante_nouvelle"}
    assert all(key(c) not in before for c in preview.changes)


def test_without_a_published_warehouse_every_value_is_new(settings, reference):
    upload = parse_upload(sample_path("pharmacy_survey", JUNE), PHARMACY, reference, settings.limits)
    empty = preview_upload(settings, upload)
    assert empty.changes == [] and "Aucun entrepôt n'est encore publié" in empty.note
    preview = preview_upload(settings, upload, reference)
    assert f"{MSSANTE}, Sarthe, 06/2024 : — → 123 / 156" in [c.text for c in preview.changes]
    assert all(c.old is None for c in preview.changes)
    assert not settings.warehouse_path.exists()


@pytest.mark.slow
def test_a_month_corrected_in_a_monthly_source_changes_that_month_and_its_window(settings, reference, tmp_path):
    copy_sample(settings, "mes_statistics")
    assert run_pipeline(settings).published
    second = sorted((settings.raw_dir / "mes_statistics").iterdir())[-1]
    lines = second.read_text(encoding="utf-8-sig").splitlines()
    edited = [i for i, line in enumerate(lines) if line.startswith("09/2024;commune;72003;")]
    assert len(edited) == 1
    fields = lines[edited[0]].split(";")
    fields[6] = "2 000"  # Allonnes, September 2024: more profiles fed than published
    lines[edited[0]] = ";".join(fields)
    corrected = tmp_path / "MES_statistiques_communes_72_2024-09_correction.csv"
    corrected.write_text("\n".join(lines) + "\n", encoding="utf-8")
    upload = parse_upload(corrected, MES, reference, settings.limits)
    assert upload.accepted, [p.as_text() for p in upload.problems]

    preview = preview_upload(settings, upload)

    assert preview.changes and not preview.note
    changed = {(c.territory_level, c.territory_code, c.period) for c in preview.changes}
    assert ("commune", "72003", dt.date(2024, 9, 1)) in changed
    assert ("departement", "72", dt.date(2024, 9, 1)) in changed
    assert all(c.period == dt.date(2024, 9, 1) for c in preview.changes)  # a stock: only its own month
    assert_preview_is_what_gets_published(settings, MES, upload, preview)
