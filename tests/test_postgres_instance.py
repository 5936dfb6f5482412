"""The Dagster instance on PostgreSQL, selected by ESANTE_DAGSTER_PG_URL alone, on a real server.

A PostgreSQL server of Debian's package is started for this module (tests/postgres_server.py) on
127.0.0.1 and stopped afterwards. On it: `esante run`, the event path through the real daemon (a
drop, the sensor, the refresh, the publication, each upload exactly once), the runs and the
sensor's cursor read back from PostgreSQL's own tables, and a backup restored into another database.
Without the variable, the instance stays SQLite files in DAGSTER_HOME.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import psycopg2
import pytest
from dagster import DagsterInstance

from benchmarks.event_path import DagsterDev, Place, busy, published_with
from pipelines.cli import EXIT_OK, main
from pipelines.foundation.files import file_sha256
from pipelines.foundation.settings import PROJECT_ROOT, Settings, prepare_dagster_home
from pipelines.warehouse.publication import processed_uploads
from tests.conftest import copy_sample, run_pipeline, temporary_settings
from tests.postgres_server import TemporaryPostgres, free_port

ESANTE = Path(sys.executable).parent / "esante"


@pytest.fixture(scope="module")
def postgres():
    with TemporaryPostgres(durable=False) as server:
        yield server


def on(settings: Settings, url: str | None) -> tuple[Settings, dict[str, str]]:
    """These settings with (or without) the PostgreSQL instance, and the environment of their processes."""
    settings = dataclasses.replace(settings, dagster_pg_url=url, portal_dir=settings.raw_dir.parent / "portail")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("ESANTE_", "DAGSTER_"))}
    return settings, {**inherited, **prepare_dagster_home(settings)}


def rows(url: str, query: str, parameters=()) -> list[tuple]:
    connection = psycopg2.connect(url.replace("+psycopg2", ""))
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, parameters)
            return cursor.fetchall()
    finally:
        connection.close()


def kpi_values(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()


def test_without_the_setting_the_instance_is_sqlite_in_dagster_home(settings, monkeypatch):
    from dagster._core.storage.runs import SqliteRunStorage

    settings, environment = on(settings, None)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ESANTE_DAGSTER_PG_URL", raising=False)
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        assert instance.get_runs() == []
    assert (settings.dagster_home / ".dagster" / "history" / "runs.db").is_file()


def test_an_older_dagster_yaml_that_would_ignore_the_setting_is_refused(settings):
    settings.dagster_home.mkdir(parents=True)
    (settings.dagster_home / "dagster.yaml").write_text(
        "storage:\n  sqlite:\n    base_dir: {env: DAGSTER_STORAGE_DIR}\n", encoding="utf-8"
    )
    with pytest.raises(RuntimeError, match=r"ESANTE_DAGSTER_PG_URL est défini, mais .* ne le lit pas"):
        prepare_dagster_home(dataclasses.replace(settings, dagster_pg_url="postgresql://u:p@127.0.0.1:1/d"))


@pytest.mark.slow
def test_esante_run_records_its_runs_in_postgresql_and_a_backup_restores_them(
    postgres, settings, tmp_path, monkeypatch, capsys
):
    url = postgres.create_database("esante_run")
    settings, environment = on(settings, url)
    copy_sample(settings, "pharmacy_survey")
    completed = subprocess.run(
        [str(ESANTE), "run"], env=environment, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    [(run_id, job, status)] = rows(url, "SELECT run_id, pipeline_name, status FROM runs")
    assert (job, status) == ("rebuild_warehouse", "SUCCESS")
    assert rows(url, "SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))[0][0] > 10
    assert not list((settings.dagster_home / ".dagster").rglob("*.db"))  # nothing went to SQLite

    # the backup takes the instance with pg_dump; restored into an empty database, the run is there
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["sauvegarde", "--out", str(tmp_path / "sauvegardes")]) == EXIT_OK
    [archive] = (tmp_path / "sauvegardes").glob("*.tar.gz")
    empty = postgres.create_database("restauree")
    restored = tmp_path / "restauree"
    assert main(["restauration", str(archive), "--vers", str(restored), "--instance-pg", empty]) == EXIT_OK
    assert "instance Dagster : restaurée dans la base PostgreSQL" in capsys.readouterr().out
    assert rows(empty, "SELECT run_id, pipeline_name, status FROM runs") == [(run_id, job, status)]
    assert not (restored / "instance" / "dagster.pgdump").exists()


@pytest.mark.daemon
def test_the_event_path_through_the_real_daemon_on_postgresql(postgres, settings, tmp_path):
    """`esante ui` with the instance on PostgreSQL: a drop is validated once, loaded and published."""
    url = postgres.create_database("chemin_evenements")
    settings, environment = on(settings, url)
    for source in ("pharmacy_survey", "care_registrations", "mes_statistics"):
        (settings.raw_dir / source).mkdir(exist_ok=True)
    place = Place(tmp_path, settings, environment)
    with place.instance() as instance, DagsterDev(place) as daemon:
        daemon.wait_ready(instance, timeout=600)
        dropped = copy_sample(settings, "pharmacy_survey") + copy_sample(settings, "care_registrations")
        uploads = {(p.parent.name, file_sha256(p)) for p in dropped}
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if uploads <= processed_uploads(settings) and not busy(instance):
                break
            daemon.check_alive()
            time.sleep(1)
        assert uploads <= processed_uploads(settings), daemon.tail()
        assert all(published_with(settings, sha) for _, sha in uploads)
        time.sleep(12)  # two more sensor ticks: nothing is processed again
        runs = instance.get_runs()
        assert not busy(instance)
    assert {r.status.value for r in runs} == {"SUCCESS"}, daemon.tail()
    validations = [r.tags["dagster/partition"] for r in runs if r.job_name.startswith("validate_")]
    assert len(validations) == len(set(validations)) == len(uploads)  # each upload exactly once
    assert {r.job_name for r in runs if r.job_name.startswith("refresh_")} == {
        "refresh_pharmacy_survey",
        "refresh_care_registrations",
    }

    # the runs, their events and the sensor's cursor are in PostgreSQL's tables
    in_postgres = rows(url, "SELECT run_id, pipeline_name, status FROM runs")
    assert sorted(in_postgres) == sorted((r.run_id, r.job_name, r.status.value) for r in runs)
    logged = rows(
        url, "SELECT count(DISTINCT run_id) FROM event_logs WHERE run_id = ANY(%s)", ([r.run_id for r in runs],)
    )
    assert logged == [(len(runs),)]
    [(body,)] = rows(url, "SELECT instigator_body FROM instigators WHERE instigator_body LIKE %s", ("%raw_uploads%",))
    assert all(sha in body for _, sha in uploads)  # the cursor knows each upload
    assert not list((settings.dagster_home / ".dagster").rglob("*.db"))

    # the same indicators as the in-process rebuild of the same files
    reference = temporary_settings(tmp_path / "reference")
    for path in dropped:
        copy_sample(reference, path.parent.name, path.name)
    assert run_pipeline(reference).published
    assert kpi_values(settings.warehouse_path) == kpi_values(reference.warehouse_path)


# --- the services, as their systemd units start them ---------------------------------------------

DEPLOY = PROJECT_ROOT / "deploy"


def unit_commands(unit: str) -> dict[str, str]:
    """ExecStartPre and ExecStart of a unit of deploy/systemd/ (continuation lines joined)."""
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8").replace("\\\n", " ")
    commands = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ExecStartPre", "ExecStart", "EnvironmentFile", "WorkingDirectory"):
            commands[key] = " ".join(value.split())
    return commands


def service_environment(root: Path, pg_url: str) -> dict[str, str]:
    """deploy/esante.env with /var/lib/esante moved under `root` and its PostgreSQL line set."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ESANTE_", "DAGSTER_"))}
    for line in (DEPLOY / "esante.env").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#ESANTE_DAGSTER_PG_URL="):
            line = f"ESANTE_DAGSTER_PG_URL={pg_url}"
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            environment[name] = value.replace("/var/lib/esante", str(root))
    return environment


def installed(command: str) -> list[str]:
    """A unit's command line for this checkout: its environment's programs, the project's folder."""
    command = command.replace("/opt/esante/.venv/bin/", f"{Path(sys.executable).parent}/")
    return shlex.split(command.replace("/opt/esante", str(PROJECT_ROOT)))


def start(command: str, environment: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            installed(command),
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.daemon
def test_the_services_run_as_their_systemd_units_say_on_postgresql(postgres, tmp_path):
    """The units' own command lines with deploy/esante.env's settings (moved into tmp_path): the UI
    answers under /dagster/ on 127.0.0.1, the portal shows its login page, and the daemon publishes a
    drop, its runs in PostgreSQL."""
    url = postgres.create_database("services")
    environment = service_environment(tmp_path, url)
    settings = Settings.from_environment(environment)
    derived = prepare_dagster_home(settings)  # what `esante run` derives: the env file agrees with it
    assert {k: environment[k] for k in ("DAGSTER_STORAGE_DIR", "DAGSTER_COMPUTE_LOGS_DIR")} == {
        k: derived[k] for k in ("DAGSTER_STORAGE_DIR", "DAGSTER_COMPUTE_LOGS_DIR")
    }
    webserver, daemon = unit_commands("esante-webserver.service"), unit_commands("esante-daemon.service")
    portal = unit_commands("esante-portail.service")
    assert webserver["EnvironmentFile"] == daemon["EnvironmentFile"] == portal["EnvironmentFile"]
    assert portal["EnvironmentFile"] == "/etc/esante/esante.env"
    (settings.raw_dir / "pharmacy_survey").mkdir(parents=True)

    prepared = subprocess.run(
        installed(webserver["ExecStartPre"]),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prepared.returncode == 0, prepared.stderr
    assert "Instance Dagster : PostgreSQL, base services sur esante@127.0.0.1" in prepared.stdout
    assert url.split(":")[2].split("@")[0] not in prepared.stdout  # never the password

    port, portal_port = free_port(), free_port()
    assert "--host 127.0.0.1 --port 3000 --path-prefix /dagster" in webserver["ExecStart"]
    assert "--host 127.0.0.1 --port 8000" in portal["ExecStart"]
    processes = [
        start(webserver["ExecStart"].replace("--port 3000", f"--port {port}"), environment, tmp_path / "web.log"),
        start(daemon["ExecStart"], environment, tmp_path / "daemon.log"),
        start(
            portal["ExecStart"].replace("--port 8000", f"--port {portal_port}"), environment, tmp_path / "portal.log"
        ),
    ]
    try:
        deadline = time.monotonic() + 300
        answer = None
        while time.monotonic() < deadline and answer is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/dagster/server_info", timeout=5) as response:
                    answer = json.loads(response.read())
            except OSError:
                time.sleep(1)
        assert answer and "dagster_webserver_version" in answer, (tmp_path / "web.log").read_text()[-2000:]
        login = None
        while time.monotonic() < deadline and login is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{portal_port}/connexion", timeout=5) as response:
                    login = response.read().decode()
            except OSError:
                time.sleep(1)
        assert login and "Connexion" in login, (tmp_path / "portal.log").read_text()[-2000:]
        assert (settings.portal_dir).is_dir()  # the portal's folder is where esante.env puts it

        dropped = copy_sample(settings, "pharmacy_survey")
        uploads = {(p.parent.name, file_sha256(p)) for p in dropped}
        while time.monotonic() < deadline and not uploads <= processed_uploads(settings):
            time.sleep(1)
        assert uploads <= processed_uploads(settings), (tmp_path / "daemon.log").read_text()[-3000:]
    finally:
        for process in processes:
            stop(process)
    jobs = rows(url, "SELECT pipeline_name, status FROM runs ORDER BY pipeline_name")
    assert jobs == [("refresh_pharmacy_survey", "SUCCESS"), ("validate_pharmacy_survey_upload", "SUCCESS")]
    # the daemon's log lines are JSON objects, one a line, for the journal
    logged = [json.loads(line) for line in (tmp_path / "daemon.log").read_text().splitlines() if line.startswith("{")]
    assert any("raw_uploads" in entry.get("event", "") for entry in logged)
