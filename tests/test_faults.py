"""Faults survived (issue 20): a killed run never blocks the next, an analyst's read-write session never
leaks into a published version, a full disk is said plainly and leaves nothing behind, no file under
the size limit crashes the process, and duplicates name exactly the lines that hold the same value."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.utils import make_new_run_id

from pipelines.contract import unit_by_id
from pipelines.foundation.problems import errors
from pipelines.orchestration.recovery import fail_dead_runs
from pipelines.validation.parse import parse_upload
from pipelines.warehouse.publication import processed_uploads, published_version
from tests.conftest import copy_all_samples, copy_sample, published, run_pipeline, temporary_settings
from tests.daemon import Daemon

ESANTE = str(Path(sys.executable).parent / "esante")
SURVEY = unit_by_id("pharmacy_survey")


def esante(settings, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [ESANTE, *args],
        env={**os.environ, **settings.as_environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def kpi_rows(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()


# --- a killed run ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_runs_killed_at_random_moments_never_block_the_next_run(tmp_path, monkeypatch):
    settings = temporary_settings(tmp_path)
    copy_all_samples(settings)
    randomly = random.Random(20)
    lock = settings.build_dir / "writer.json"
    for attempt in range(3):
        run = esante(settings, "run")
        started = time.monotonic()
        delay = randomly.uniform(0.5, 6.0)  # during validation, a step, or the publication
        while run.poll() is None and time.monotonic() - started < delay:
            time.sleep(0.01)
        run.send_signal(signal.SIGKILL)
        run.wait()
        # the killed run had created its Dagster run when it held the writer lock
        had_a_run = lock.exists() and json.loads(lock.read_text())["pid"] == run.pid
        recovered = esante(settings, "run")
        stdout, stderr = recovered.communicate(timeout=600)
        assert recovered.returncode == 0, f"{attempt}: {stdout}{stderr}"
        assert stdout.count("✔ Entrepôt publié") == 1
        if had_a_run and run.returncode == -signal.SIGKILL:
            assert "s'est arrêtée sans finir" in stdout  # the dead run was failed, and said so
    for name, value in {
        "DAGSTER_HOME": settings.dagster_home,
        "DAGSTER_STORAGE_DIR": settings.dagster_home / ".dagster",
        "DAGSTER_COMPUTE_LOGS_DIR": settings.dagster_home / ".dagster" / "compute_logs",
    }.items():
        monkeypatch.setenv(name, str(value))
    with DagsterInstance.get() as instance:
        stuck = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING]))
    assert stuck == []
    assert list(settings.versions_dir.glob(".*.tmp")) == []
    assert kpi_rows(settings.warehouse_path)


@pytest.mark.daemon
def test_a_daemon_killed_during_a_refresh_and_restarted_publishes_the_file_once(tmp_path):
    settings = temporary_settings(tmp_path / "live")
    for source in ("pharmacy_survey", "care_registrations", "mes_statistics"):
        (settings.raw_dir / source).mkdir()
    daemon = Daemon(settings, tmp_path / "home", tmp_path / "dev.log").start()
    try:
        with daemon.instance() as instance:
            copy_sample(settings, "pharmacy_survey")
            deadline = time.monotonic() + 900  # generous: a busy machine is slow, not wrong
            while time.monotonic() < deadline and not instance.get_runs(
                filters=RunsFilter(job_name="refresh_pharmacy_survey", statuses=[DagsterRunStatus.STARTED])
            ):
                time.sleep(0.2)
            daemon.stop()  # the webserver, the daemon, the code server and the run workers, all at once
            daemon.start()
            in_progress = RunsFilter(
                job_name="refresh_pharmacy_survey",
                statuses=[DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED],
            )
            # published, and the run that published has finished (the committee pack comes after)
            while time.monotonic() < deadline and not (
                processed_uploads(settings) and not instance.get_runs(filters=in_progress)
            ):
                time.sleep(1)
            runs = instance.get_runs(filters=RunsFilter(job_name="refresh_pharmacy_survey"))
            statuses = sorted(r.status.value for r in runs)
    finally:
        daemon.stop()
    assert len(processed_uploads(settings)) == 1, (tmp_path / "dev.log").read_text()[-3000:]
    with published(settings) as connection:
        assert connection.execute("SELECT count(*) FROM audit.upload").fetchall() == [(1,)]
        assert connection.execute(
            "SELECT numerator, denominator FROM kpi.indicator_value WHERE indicator_id = "
            "'pharmacy_mssante_rate' AND territory_level = 'departement'"
        ).fetchall() == [(123, 156)]
    assert statuses.count("SUCCESS") == 1 and "STARTED" not in statuses, statuses


def test_a_run_killed_before_its_resources_tagged_it_is_failed_by_the_process_its_start_event_names(tmp_path):
    """The daemon killed while a run sets up its resources: the run has no process tag yet, but its
    start event names its process; gone, the run is failed (a live one is left alone)."""
    daemon = Daemon(temporary_settings(tmp_path / "live"), tmp_path / "home", tmp_path / "dev.log")  # not started
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with daemon.instance() as instance:
        runs = {}
        for job, pid in (("refresh_pharmacy_survey", gone.pid), ("refresh_care_registrations", os.getpid())):
            run = instance.add_run(DagsterRun(job_name=job, run_id=make_new_run_id()))
            instance.report_dagster_event(
                DagsterEvent(DagsterEventType.RUN_START.value, job_name=job, pid=pid), run_id=run.run_id
            )
            runs[job] = run.run_id
        assert {instance.get_run_by_id(i).status for i in runs.values()} == {DagsterRunStatus.STARTED}
        [line] = fail_dead_runs(instance)
        assert f"processus {gone.pid} disparu" in line and "refresh_pharmacy_survey" in line
        assert instance.get_run_by_id(runs["refresh_pharmacy_survey"]).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(runs["refresh_care_registrations"]).status == DagsterRunStatus.STARTED
        assert fail_dead_runs(instance) == []


# --- an analyst's read-write session --------------------------------------------------------------

WRITER = textwrap.dedent("""
    import duckdb, os, sys, time
    connection = duckdb.connect(sys.argv[1])  # read-write: the mistake
    connection.execute("SET checkpoint_threshold = '1TB'")  # everything stays in the journal
    connection.execute("UPDATE kpi.indicator_value SET value = 0.5")
    connection.execute("DELETE FROM kpi.indicator_value WHERE territory_level = 'commune'")
    if sys.argv[2] == "crash":
        os._exit(0)  # dies without closing: its journal stays
    print("open", flush=True)
    time.sleep(120)
""")


def test_an_analysts_crashed_read_write_session_never_changes_a_published_version(tmp_path):
    settings = temporary_settings(tmp_path / "live")
    copy_all_samples(settings)
    assert run_pipeline(settings).published
    version = published_version(settings)
    subprocess.run([sys.executable, "-c", WRITER, str(settings.warehouse_path), "crash"], check=True, timeout=120)
    assert Path(f"{version}.wal").exists()  # DuckDB put the journal beside the real file, not the link

    outcome = run_pipeline(settings)
    assert outcome.published
    assert any("ouvert l'entrepôt publié en écriture" in note for note in outcome.notes), outcome.notes
    assert published_version(settings) != version
    assert not Path(f"{published_version(settings)}.wal").exists()
    clean = temporary_settings(tmp_path / "clean")
    copy_all_samples(clean)
    assert run_pipeline(clean).published
    assert kpi_rows(settings.warehouse_path) == kpi_rows(clean.warehouse_path)


def test_while_someone_holds_the_published_file_read_write_kpi_says_so_in_french(tmp_path):
    settings = temporary_settings(tmp_path)
    copy_sample(settings, "pharmacy_survey")
    assert run_pipeline(settings).published
    holder = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(settings.warehouse_path), "hold"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        kpi = esante(settings, "kpi")
        stdout, stderr = kpi.communicate(timeout=120)
        assert kpi.returncode == 1
        assert "ouvert en écriture par un autre programme" in stderr and "duckdb -readonly" in stderr
        assert "Traceback" not in stdout + stderr
        outcome = run_pipeline(settings)  # a publication is not blocked by the session either
        assert outcome.published
    finally:
        holder.kill()
        holder.wait()


# --- a full disk ----------------------------------------------------------------------------------


def _can_mount_tmpfs(folder: Path) -> bool:
    try:
        probe = subprocess.run(
            ["unshare", "-Urm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs '{folder}'"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_a_full_disk_is_one_french_line_leaves_nothing_behind_and_the_next_run_succeeds(tmp_path):
    settings = temporary_settings(tmp_path)
    copy_all_samples(settings)
    folder = settings.warehouse_path.parent
    folder.mkdir(parents=True)
    if not _can_mount_tmpfs(folder):
        pytest.skip("this machine does not allow a small tmpfs in a user namespace")
    script = textwrap.dedent(f"""
        set -u
        mount -t tmpfs -o size=6m tmpfs '{folder}'
        '{ESANTE}' run > '{tmp_path}/full.out' 2>&1; echo "full=$?"
        find '{folder}' -name '*.tmp' | wc -l | sed 's/^/leftovers=/'
        mount -o remount,size=256m '{folder}'
        '{ESANTE}' run > '{tmp_path}/room.out' 2>&1; echo "room=$?"
    """)
    result = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **settings.as_environment()},
    )
    states = dict(line.split("=", 1) for line in result.stdout.split() if "=" in line)
    full = (tmp_path / "full.out").read_text()
    assert states["full"] == "1", full
    [line] = [line for line in full.splitlines() if "Disque plein" in line]
    assert f"dans {folder}" in line or str(folder) in line
    assert "Mo libres" in line and "Libérez de la place" in line
    assert "Traceback" not in full and "No space left" not in full and "Unique file handle" not in full
    assert states["leftovers"] == "0"
    assert states["room"] == "0", (tmp_path / "room.out").read_text()


# --- files under the size limit that used to crash the process ------------------------------------


@pytest.mark.slow
def test_a_190_mb_csv_of_garbage_under_a_4_gib_address_space_limit_is_a_french_rejection(tmp_path):
    import numpy as np

    folder = tmp_path / "mes_statistics"
    folder.mkdir()
    path = folder / "MES national.csv"
    header = "Mois;Niveau;Code territoire;Libellé;Population;Profils ouverts;Profils alimentés;Documents ajoutés\n"
    noise = np.random.default_rng(42).integers(0, 256, size=190 * 1024**2, dtype=np.uint8)
    text = (32 + noise % 95).astype(np.uint8)
    text[noise < 3] = ord("\n")
    path.write_bytes(header.encode() + text.tobytes())

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))

    result = subprocess.run(
        [ESANTE, "validate", str(path)], capture_output=True, text=True, timeout=900, preexec_fn=limited
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "✘ Fichier rejeté" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr and "panicked" not in result.stderr


# --- duplicates name exactly their lines -----------------------------------------------------------


def test_a_duplicate_names_exactly_the_lines_holding_the_same_value(tmp_path, reference, settings):
    from assets.pharmacy_survey.sample import load_sarthe_pharmacies

    pharmacies = [p["finess"] for p in load_sarthe_pharmacies()[:40]]
    rows = [[f, "P", "Oui", "Non"] for f in pharmacies[:30]]
    rows[18][0] = rows[2][0]  # lines 4 and 20 hold the same FINESS
    rows[28][0] = rows[27][0]  # lines 29 and 30 another one
    from tests import hostile_files as hostile

    path = hostile.write_survey_xlsx(
        tmp_path, "2025-02 doublons.xlsx", rows, ["FINESS", "Raison sociale", "MSSanté", "Fax"]
    )
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    messages = {p.row: p.message for p in errors(upload.problems) if p.check == "field_uniqueness"}
    assert messages == {
        4: "La même valeur apparaît sur plusieurs lignes (aussi ligne 20).",
        20: "La même valeur apparaît sur plusieurs lignes (aussi ligne 4).",
        29: "La même valeur apparaît sur plusieurs lignes (aussi ligne 30).",
        30: "La même valeur apparaît sur plusieurs lignes (aussi ligne 29).",
    }


def test_a_hundred_thousand_rows_with_repeated_finess_name_only_their_own_lines(tmp_path, reference, settings):
    from tests import hostile_files as hostile

    pharmacies = [f"72{n:07d}" for n in range(50)]
    rows = [[pharmacies[n % 50], "P", "Oui", "Non"] for n in range(100_000)]
    path = hostile.write_csv(tmp_path, "2025-02 cent mille.csv", ["FINESS", "Raison sociale", "MSSanté", "Fax"], rows)
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    [line_two] = [p for p in errors(upload.problems) if p.check == "field_uniqueness" and p.row == 2]
    same = [2 + n for n in range(100_000) if n % 50 == 0 and n > 0]
    assert line_two.message.startswith(
        "La même valeur apparaît sur plusieurs lignes (aussi lignes "
        + ", ".join(map(str, same[:10]))
        + f" et {len(same) - 10} autre(s))"
    )
