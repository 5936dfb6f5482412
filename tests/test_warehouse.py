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

from pipelines.dictionary import render, undocumented
from pipelines.settings import PROJECT_ROOT
from tests.conftest import copy_sample, published, run_pipeline

SOURCES = ("pharmacy_survey", "care_registrations", "mes_statistics")


def esante_run(settings, home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "esante"), "run", "--raw", str(settings.raw_dir),
         "--warehouse", str(settings.warehouse_path)],
        env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def built(settings):
    """A warehouse published from every sample."""
    for source in SOURCES:
        copy_sample(settings, source)
    assert run_pipeline(settings).success
    return settings


def test_every_analyst_facing_table_view_and_column_is_documented_and_the_dictionary_is_current(built):
    with published(built) as connection:
        assert undocumented(connection) == []
        expected = render(connection)
    committed = (PROJECT_ROOT / "warehouse" / "DICTIONNAIRE.md").read_text(encoding="utf-8")
    assert committed == expected, "warehouse/DICTIONNAIRE.md is stale: run `make run && .venv/bin/esante dictionary`"


def test_readable_views_speak_french_and_hold_the_latest_values(built):
    with published(built) as connection:
        rows = connection.execute(
            "SELECT territoire, segment, valeur_affichee, numerateur, denominateur FROM kpi.v_objectif_7_messagerie "
            "WHERE indicateur = 'pharmacy_fax_rate' AND niveau = 'departement' ORDER BY segment NULLS FIRST"
        ).fetchall()
        assert rows == [("Sarthe", None, "91,0 %", 142, 156), ("Sarthe", "mssante", "91,1 %", 112, 123)]
        objectives = {r[0] for r in connection.execute("SELECT DISTINCT objectif FROM kpi.v_dernieres_valeurs").fetchall()}
        assert {2, 4, 7} <= objectives
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
    assert not Path(f"{built.warehouse_path}.wal").exists()
    assert len(list(built.versions_dir.glob("*.duckdb"))) >= 1  # the previous version is kept


@pytest.mark.slow
def test_a_killed_run_leaves_the_published_warehouse_intact(built, tmp_path):
    before = digest(built.warehouse_path)
    folder = built.warehouse_path.parent
    (built.raw_dir / "pharmacy_survey" / "2024-07 vide.csv").write_bytes(b"")
    for delay in (None, 0.5, 3.0):  # None: kill as soon as the new file is being written
        run = esante_run(built, tmp_path / "home")
        started = time.monotonic()
        while run.poll() is None:
            temporary = list(folder.glob(".*.tmp.duckdb*"))
            if (delay is None and temporary) or (delay is not None and time.monotonic() - started > delay):
                run.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        run.wait()
        assert digest(built.warehouse_path) == before
        with published(built) as connection:
            assert connection.execute("SELECT count(*) FROM kpi.indicator_value").fetchall()[0][0] > 0
    finished = esante_run(built, tmp_path / "home")
    stdout, stderr = finished.communicate(timeout=300)
    assert finished.returncode == 0, stdout + stderr
    assert digest(built.warehouse_path) != before
    assert list(folder.glob(".*.tmp.duckdb*")) == []  # no debris


def test_a_failing_blocking_check_publishes_nothing(built, monkeypatch):
    before = digest(built.warehouse_path)
    from pipelines import warehouse

    def incoherent(connection, unit, months=None):
        values = warehouse.compute_indicators(connection, unit, months)
        connection.execute("UPDATE computed_values SET numerator = denominator + 1")
        return values

    monkeypatch.setattr("pipelines.source_assets.compute_indicators", incoherent)
    result = run_pipeline(built)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "numérateur dépasse le dénominateur" in failure.step_failure_data.error.message
    assert digest(built.warehouse_path) == before
    assert warehouse  # the module stays importable with the patched function


def storage_version(path: Path) -> str:
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH '{path}' AS checked (READ_ONLY)")
        (tags,), = connection.execute("SELECT tags FROM duckdb_databases() WHERE database_name = 'checked'").fetchall()
    return tags["storage_version"]


def test_the_published_file_is_in_the_storage_format_analysts_read_even_from_an_older_working_file(built):
    assert storage_version(built.warehouse_path) == f"{built.storage_version}+"
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
    assert storage_version(working) != f"{built.storage_version}+"

    assert run_pipeline(built).success
    assert storage_version(working) == f"{built.storage_version}+"  # converted once
    assert storage_version(built.warehouse_path) == f"{built.storage_version}+"
    with published(built) as connection:
        assert connection.execute("SELECT count(*) FROM kpi.indicator_value").fetchall() == values
