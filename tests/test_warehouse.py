"""The published warehouse: atomic, readable while a run writes, intact after a killed run, documented."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.foundation.settings import PROJECT_ROOT
from pipelines.warehouse.database import storage_version_of
from pipelines.warehouse.dictionary import render, undocumented
from tests.conftest import copy_all_samples, published, run_pipeline


def esante_run(settings, home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "esante"),
            "run",
            "--raw",
            str(settings.raw_dir),
            "--warehouse",
            str(settings.warehouse_path),
        ],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def built(settings):
    """A warehouse of its own, published from every sample (for the tests that change it)."""
    copy_all_samples(settings)
    assert run_pipeline(settings).published
    return settings


def test_every_analyst_facing_table_view_and_column_is_documented_and_the_dictionary_is_current(sample_warehouse):
    with published(sample_warehouse) as connection:
        assert undocumented(connection) == []
        expected = render(connection)
    committed = (PROJECT_ROOT / "warehouse" / "DICTIONNAIRE.md").read_text(encoding="utf-8")
    assert committed == expected, "warehouse/DICTIONNAIRE.md is stale: run `.venv/bin/esante docs`"


def test_readable_views_speak_french_and_hold_the_latest_values(sample_warehouse):
    with published(sample_warehouse) as connection:
        rows = connection.execute(
            "SELECT territoire, segment, valeur_affichee, numerateur, denominateur FROM kpi.v_objectif_7_messagerie "
            "WHERE indicateur = 'pharmacy_fax_rate' AND niveau = 'departement' ORDER BY segment NULLS FIRST"
        ).fetchall()
        assert rows == [("Sarthe", None, "91,0 %", 142, 156), ("Sarthe", "mssante", "91,1 %", 112, 123)]
        objectives = {
            r[0] for r in connection.execute("SELECT DISTINCT objectif FROM kpi.v_dernieres_valeurs").fetchall()
        }
        assert {2, 4, 7} <= objectives
        names = dict(
            connection.execute(
                "SELECT niveau || ':' || code, nom FROM ref.territoire WHERE code IN ('72', '52', '53', '971')"
            ).fetchall()
        )
        assert names == {
            "departement:72": "Sarthe",
            "region:52": "Pays de la Loire",
            "departement:53": "Mayenne",
            "departement:52": "Haute-Marne",
            "region:53": "Bretagne",
            "departement:971": "Guadeloupe",
        }
        care = connection.execute(
            "SELECT territoire, segment_libelle, valeur_affichee FROM kpi.v_objectif_4_cybersecurite "
            "WHERE indicateur = 'crisis_exercise_status' AND niveau = 'region' ORDER BY segment"
        ).fetchall()
        assert care == [
            ("Pays de la Loire", "à réaliser", "15,5 %"),
            ("Pays de la Loire", "programmé", "4,7 %"),
            ("Pays de la Loire", "réalisé", "79,8 %"),
        ]
        counts = connection.execute(
            "SELECT DISTINCT data_type FROM duckdb_columns() WHERE schema_name = 'kpi' AND table_name = 'indicator_value' "
            "AND column_name IN ('numerator', 'denominator')"
        ).fetchall()
        assert counts == [("BIGINT",)]  # counts are integers, never 112.0
        lineage = connection.execute(
            "SELECT DISTINCT source, fichier FROM audit.v_lignee WHERE indicateur = 'pharmacy_mssante_rate'"
        ).fetchall()
        assert lineage == [("pharmacy_survey", "2024-06 enquete officines.xlsx")]


def test_an_open_reader_never_blocks_a_run_and_keeps_its_version(built, tmp_path):
    reader = duckdb.connect(str(built.warehouse_path), read_only=True)
    uploads_before = reader.execute("SELECT count(*) FROM audit.upload").fetchall()[0][0]
    (built.raw_dir / "pharmacy_survey" / "2024-07 vide.csv").write_bytes(b"")  # one more (rejected) upload
    run = esante_run(built, tmp_path / "home")
    while run.poll() is None:  # the reader keeps querying while the run writes and publishes
        assert reader.execute("SELECT count(*) FROM audit.upload").fetchall()[0][0] == uploads_before
        time.sleep(0.05)
    stdout, stderr = run.communicate()
    assert run.returncode == 0, stdout + stderr
    assert reader.execute("SELECT count(*) FROM audit.upload").fetchall()[0][0] == uploads_before
    reader.close()
    with published(built) as fresh:
        assert fresh.execute("SELECT count(*) FROM audit.upload").fetchall()[0][0] == uploads_before + 1
    assert not list(built.warehouse_path.parent.rglob("*.wal"))
    assert len(list(built.versions_dir.glob("*.duckdb"))) >= 2  # the previous version is kept


@pytest.mark.slow
def test_a_killed_run_leaves_the_published_warehouse_intact(built, tmp_path):
    before = digest(built.warehouse_path)
    versions = built.versions_dir
    (built.raw_dir / "pharmacy_survey" / "2024-07 vide.csv").write_bytes(b"")
    for delay in (None, 0.3, 1.0):  # None: kill as soon as the new version is being copied
        run = esante_run(built, tmp_path / "home")
        started = time.monotonic()
        while run.poll() is None:
            copying = list(versions.glob(".*.tmp"))
            if (delay is None and copying) or (delay is not None and time.monotonic() - started > delay):
                run.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        run.wait()
        if run.returncode == -signal.SIGKILL:  # killed before it could publish: the version of before
            assert digest(built.warehouse_path) == before
        with published(built) as connection:  # in every case a whole, readable version
            assert connection.execute("SELECT count(*) FROM kpi.indicator_value").fetchall()[0][0] > 0
    finished = esante_run(built, tmp_path / "home")
    stdout, stderr = finished.communicate(timeout=300)
    assert finished.returncode == 0, stdout + stderr
    assert digest(built.warehouse_path) != before
    assert list(versions.glob(".*.tmp")) == []  # no debris: the next run removed what the killed ones left


def test_a_failing_blocking_check_publishes_nothing(built, monkeypatch):
    before = digest(built.warehouse_path)
    from pipelines.warehouse import indicators

    def incoherent(connection, unit, months=None):
        values = indicators.compute_indicators(connection, unit, months)
        connection.execute("UPDATE computed_values SET numerator = denominator + 1")
        return values

    monkeypatch.setattr("pipelines.orchestration.source_assets.compute_indicators", incoherent)
    outcome = run_pipeline(built)
    assert not outcome.success and not outcome.published
    assert any("numérateur dépasse le dénominateur" in failure for failure in outcome.failures), outcome.failures
    assert digest(built.warehouse_path) == before


def test_the_published_file_is_in_the_storage_format_analysts_read_even_from_an_older_working_file(built):
    assert storage_version_of(built.warehouse_path) == f"{built.storage_version}+"
    # a working database left in DuckDB's newest format (by an earlier version of the project)
    working = built.working_database
    with duckdb.connect(str(working), read_only=True) as connection:
        values = connection.execute("SELECT count(*) FROM kpi.indicator_value").fetchall()
    newest = working.with_suffix(".newest.duckdb")
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH '{working}' AS old (READ_ONLY)")
        connection.execute(f"ATTACH '{newest}' AS newest (STORAGE_VERSION 'latest')")
        connection.execute("COPY FROM DATABASE old TO newest")
    os.replace(newest, working)
    assert storage_version_of(working) != f"{built.storage_version}+"

    assert run_pipeline(built).published
    assert storage_version_of(working) == f"{built.storage_version}+"  # converted once
    assert storage_version_of(built.warehouse_path) == f"{built.storage_version}+"
    with published(built) as connection:
        assert connection.execute("SELECT count(*) FROM kpi.indicator_value").fetchall() == values
