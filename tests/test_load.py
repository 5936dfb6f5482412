"""Load and faults with the real daemon: 30 uploads dropped at once (sources mixed, five invalid, one
duplicated under two names) are each processed exactly once, give the same indicators as `esante
run`, and a daemon restarted between two drops loses and repeats nothing. Speed is measured by the
benchmark (benchmarks/event_path.py); the bound here is generous."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from pipelines.warehouse.publication import processed_uploads
from tests.conftest import temporary_settings
from tests.daemon import Daemon
from tests.load_mix import thirty_files

pytestmark = pytest.mark.daemon
BUSY = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


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
    files, invalid = thirty_files(staging)
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
