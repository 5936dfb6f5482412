"""Load and faults with the real daemon: 30 uploads dropped at once (sources mixed, five invalid, one
duplicated under two names) are each processed exactly once, give the same indicators as `esante
run`, and a daemon restarted between two drops loses and repeats nothing. Speed is measured by the
benchmark (benchmarks/event_path.py); the bound here is generous."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from assets.care_registrations.sample import build_care_followup
from assets.pharmacy_survey.sample import build_pharmacy_wave, load_sarthe_pharmacies
from pipelines.warehouse.publication import processed_uploads
from tests import hostile_files as hostile
from tests.conftest import sample_path, samples_dir, temporary_settings
from tests.daemon import Daemon

pytestmark = pytest.mark.daemon
BUSY = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def build_drop(folder: Path) -> tuple[list[Path], int]:
    """30 files in a staging folder, as raw/<source>/<name>; and how many of them are invalid."""
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
    invalid = [
        hostile.write_pdf_as_xlsx(survey, "2024-09 rapport.xlsx"),
        hostile.write_empty_csv(survey, "2024-10 vide.csv"),
        hostile.write_survey_xlsx(
            survey,
            "2024-11 fautes.xlsx",
            [["720008994", "P", "Bientôt", "Non"]],
            ["FINESS", "Raison sociale", "MSSanté", "Fax"],
        ),
    ]
    care = folder / "care_registrations"
    care.mkdir()
    files.append(Path(shutil.copy2(sample_path("care_registrations"), care)))
    files.append(build_care_followup(care / "2024-12 suivi CARE.xlsx", state_date=dt.date(2024, 12, 10), seed=7))
    invalid.append(hostile.write_legacy_xls(care, "2024-11 suivi.xls"))
    mes = folder / "mes_statistics"
    mes.mkdir()
    for sample in sorted((samples_dir() / "mes_statistics").iterdir()):
        files.append(Path(shutil.copy2(sample, mes)))
    invalid.append(hostile.write_truncated_xlsx(mes, "2024-12 MES.xlsx"))
    files += invalid
    assert len(files) == 30
    return files, len(invalid)


def drop(files: list[Path], staging: Path, raw: Path) -> None:
    for path in files:
        target = raw / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)


def settle(instance: DagsterInstance, settings, expected: int, deadline: float) -> None:
    """Wait until every upload is in the published warehouse and no run is queued or running."""
    while time.monotonic() < deadline:
        if len(processed_uploads(settings)) == expected and not instance.get_runs(filters=RunsFilter(statuses=BUSY)):
            time.sleep(12)  # two more ticks of the sensor: nothing new must start
            if not instance.get_runs(filters=RunsFilter(statuses=BUSY)):
                return
        time.sleep(2)
    raise AssertionError(f"not settled: {len(processed_uploads(settings))} uploads published of {expected}")


def indicators(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()


def test_thirty_uploads_at_once_and_a_restart_each_processed_exactly_once(tmp_path):
    settings = temporary_settings(tmp_path / "live")
    staging = tmp_path / "staging"
    files, invalid = build_drop(staging)
    first, second = files[:15], files[15:]
    daemon = Daemon(settings, tmp_path / "home", tmp_path / "dev.log").start()
    try:
        with daemon.instance() as instance:
            deadline = time.monotonic() + 900
            drop(first, staging, settings.raw_dir)
            settle(instance, settings, 15, deadline)
            daemon.stop()  # restart between two drops: the sensor's cursor lives in the instance
            daemon.start()
            drop(second, staging, settings.raw_dir)
            settle(instance, settings, 29, deadline)  # 30 files, one duplicate content
            runs = instance.get_runs()
    finally:
        daemon.stop()

    validations = [r for r in runs if r.job_name.startswith("validate_")]
    partitions = [r.tags.get("dagster/partition") for r in validations]
    assert len(partitions) == 29 and len(set(partitions)) == 29  # each upload validated exactly once
    failed = [r for r in runs if r.status != DagsterRunStatus.SUCCESS]
    assert sorted(r.job_name for r in failed) == sorted(  # a rejected upload fails its validation, nothing else
        r.job_name for r in validations if r.status == DagsterRunStatus.FAILURE
    )
    assert len(failed) == invalid, (tmp_path / "dev.log").read_text()[-3000:]
    refreshes = [r for r in runs if r.job_name.startswith("refresh_")]
    assert len(refreshes) < 29  # drops close together joined a waiting refresh

    # the same files, rebuilt by `esante run` on an instance of its own, give the same indicators
    reference = temporary_settings(tmp_path / "reference")
    shutil.rmtree(reference.raw_dir)
    shutil.copytree(settings.raw_dir, reference.raw_dir, ignore=shutil.ignore_patterns("_rejets"))
    output = tmp_path / "esante_run.log"  # a file, not a pipe: log watchers may outlive the command
    with output.open("w") as log:
        completed = subprocess.run(
            [str(Path(sys.executable).parent / "esante"), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
            env={**os.environ, **reference.as_environment()},
        )
    assert completed.returncode == 0, output.read_text()[-3000:]
    assert indicators(settings.warehouse_path) == indicators(reference.warehouse_path)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        statuses = dict(connection.execute("SELECT status, count(*) FROM audit.upload GROUP BY ALL").fetchall())
    assert statuses == {"accepted": 29 - invalid, "rejected": invalid}
