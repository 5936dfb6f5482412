"""Load and faults with the real daemon: 30 uploads dropped at once (sources mixed, some invalid, one
duplicated under two names) are each processed exactly once, with no lock error, give the same
indicators as `esante run`, and a daemon restarted between two drops loses and repeats nothing."""

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from assets.care_registrations.sample import build_care_followup
from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from tests import hostile_files as hostile
from tests.conftest import SAMPLES
from tests.test_event_driven import _free_port

pytestmark = pytest.mark.slow


def build_drop(folder: Path) -> list[Path]:
    """30 files in a staging folder, as raw/<source>/<name>."""
    pharmacies = load_sarthe_pharmacies()
    files = []
    survey = folder / "pharmacy_survey"
    survey.mkdir(parents=True)
    for month in range(1, 21):
        wave = dt.date(2023 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        count = 20 + month
        files.append(
            build_pharmacy_wave(
                survey / f"{wave:%Y-%m} vague.xlsx",
                pharmacies[month : month + count],
                mssante_count=count // 2 + month % 5,
                fax_count=count - month,
                wave=wave,
                seed=month,
            )
        )
    duplicate = survey / "copie de 2023-01 vague.xlsx"
    shutil.copy2(files[0], duplicate)
    files.append(duplicate)
    files.append(hostile.write_pdf_as_xlsx(survey, "2024-09 rapport.xlsx"))
    files.append(hostile.write_empty_csv(survey, "2024-10 vide.csv"))
    files.append(
        hostile.write_survey_xlsx(
            survey,
            "2024-11 fautes.xlsx",
            [["720008994", "P", "Bientôt", "Non"]],
            ["FINESS", "Raison sociale", "MSSanté", "Fax"],
        )
    )
    care = folder / "care_registrations"
    care.mkdir()
    files.append(Path(shutil.copy2(SAMPLES / "care_registrations" / "2024-10 suivi CARE Pays de la Loire.xlsx", care)))
    files.append(build_care_followup(care / "2024-12 suivi CARE.xlsx", state_date=dt.date(2024, 12, 10), seed=7))
    files.append(hostile.write_legacy_xls(care, "2024-11 suivi.xls"))
    mes = folder / "mes_statistics"
    mes.mkdir()
    for sample in sorted((SAMPLES / "mes_statistics").iterdir()):
        files.append(Path(shutil.copy2(sample, mes)))
    files.append(hostile.write_truncated_xlsx(mes, "2024-12 MES.xlsx"))
    assert len(files) == 30
    return files


def drop(files: list[Path], staging: Path, raw: Path) -> None:
    for path in files:
        target = raw / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)


class Daemon:
    def __init__(self, env: dict, cwd: Path):
        self.env, self.cwd = env, cwd

    def start(self):
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-m",
                "pipelines.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(_free_port()),
            ],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=open(self.cwd / "dev.log", "a"),
            start_new_session=True,
        )

    def stop(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def settle(instance: DagsterInstance, warehouse: Path, expected_uploads: int, deadline: float) -> None:
    """Wait until every upload is in the published audit and no run is queued or running."""
    busy = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    quiet_since = None
    while time.monotonic() < deadline:
        uploads = 0
        if warehouse.exists():
            with duckdb.connect(str(warehouse), read_only=True) as connection:
                uploads = connection.execute("SELECT count(*) FROM audit.upload").fetchall()[0][0]
        idle = not instance.get_runs(filters=RunsFilter(statuses=busy))
        if uploads == expected_uploads and idle:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 40:  # two more sensor ticks without anything new
                return
        else:
            quiet_since = None
        time.sleep(3)
    raise AssertionError(f"not settled: {uploads} uploads of {expected_uploads}, idle={idle}")


def indicators(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()


def test_thirty_uploads_at_once_and_a_restart_each_processed_exactly_once(tmp_path, monkeypatch):
    raw, staging, home = tmp_path / "raw", tmp_path / "staging", tmp_path / "home"
    for folder in (raw, home):
        folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "warehouse" / "esante.duckdb"
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_STORAGE_DIR": str(home / ".dagster"),
        "DAGSTER_COMPUTE_LOGS_DIR": str(home / ".dagster" / "logs"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "ESANTE_RAW_DIR": str(raw),
        "ESANTE_WAREHOUSE": str(warehouse),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    files = build_drop(staging)
    first, second = files[:15], files[15:]
    daemon = Daemon({**os.environ}, tmp_path)
    daemon.start()
    try:
        with DagsterInstance.get() as instance:
            deadline = time.monotonic() + 900
            drop(first, staging, raw)
            settle(instance, warehouse, 15, deadline)
            daemon.stop()  # restart between two drops: the sensor's cursor lives in the instance
            daemon.start()
            drop(second, staging, raw)
            settle(instance, warehouse, 29, deadline)  # 30 files, one duplicate content
            runs = instance.get_runs()
    finally:
        daemon.stop()

    failed = [r for r in runs if r.status != DagsterRunStatus.SUCCESS]
    assert failed == [], (tmp_path / "dev.log").read_text()[-3000:]
    validations = [r for r in runs if r.job_name.startswith("validate_")]
    keys = [r.tags.get("dagster/partition") for r in validations]
    assert len(keys) == 29 and len(set(keys)) == 29  # each upload exactly once
    reference = tmp_path / "reference.duckdb"
    other = tmp_path / "other"  # a separate instance, so that this run is not one of the daemon's
    other.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", other / "dagster.yaml")
    output = tmp_path / "esante_run.log"  # a file, not a pipe: log watchers may outlive the command
    with output.open("w") as log:
        completed = subprocess.run(
            [str(Path(sys.executable).parent / "esante"), "run", "--raw", str(raw), "--warehouse", str(reference)],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
            env={
                **os.environ,
                "DAGSTER_HOME": str(other),
                "DAGSTER_STORAGE_DIR": str(other / ".dagster"),
                "DAGSTER_COMPUTE_LOGS_DIR": str(other / ".dagster" / "logs"),
            },
        )
    assert completed.returncode == 0, output.read_text()[-3000:]
    assert indicators(warehouse) == indicators(reference)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        statuses = dict(connection.execute("SELECT status, count(*) FROM audit.upload GROUP BY ALL").fetchall())
    assert statuses == {"accepted": 24, "rejected": 5}
