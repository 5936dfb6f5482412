"""Shared fixtures: temporary raw folders, warehouses and Dagster instances, never the project's own.

The sample files are written once per session by the units' own generators (`SourceUnit.write_samples`)
into a temporary folder: a steward's file dropped into the project's raw/ changes nothing here. The
read-only tests share one warehouse built from them (`sample_warehouse`); the tests that change a
warehouse build their own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from hypothesis import settings as hypothesis_settings

from pipelines.contract.discovery import discover_units, reference_data
from pipelines.foundation.settings import PROJECT_ROOT, Settings
from pipelines.reference.tables import ReferenceData

REFERENCE_DIR = PROJECT_ROOT / "reference"

# Property tests judge values, not speed: no deadline (a busy machine must not fail them).
hypothesis_settings.register_profile("esante", deadline=None)
hypothesis_settings.load_profile("esante")
_SAMPLES: Path | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests first: they mostly wait on real processes, and with `make test`'s workers
    (pytest-xdist) the quick tests fill the time around them instead of trailing after them."""
    items.sort(key=lambda item: not (item.get_closest_marker("slow") or item.get_closest_marker("daemon")))


@pytest.fixture(autouse=True)
def _environment_restored():
    """Tests that open an instance as the daemon does set DAGSTER_* and ESANTE_* variables in this process:
    none of them outlives its test (a PostgreSQL URL left behind would point the next test at a stopped
    server)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def samples_dir() -> Path:
    """The units' sample files, written once per test session (raw/<source>/ layout)."""
    global _SAMPLES
    if _SAMPLES is None:
        import tempfile

        _SAMPLES = Path(tempfile.mkdtemp(prefix="esante-samples-"))
        for unit in discover_units():
            if unit.write_samples is not None:
                folder = _SAMPLES / unit.source_id
                folder.mkdir(parents=True)
                unit.write_samples(folder)
    return _SAMPLES


def sample_path(source_id: str, name: str | None = None) -> Path:
    files = sorted(p for p in (samples_dir() / source_id).iterdir() if p.is_file())
    return next(p for p in files if name is None or p.name == name)


def temporary_settings(root: Path) -> Settings:
    """Settings for an empty raw folder, a warehouse and a Dagster home under `root`."""
    (root / "raw").mkdir(parents=True, exist_ok=True)
    return Settings.from_environment({"DAGSTER_HOME": str(root / "dagster_home")}).with_paths(
        raw_dir=root / "raw", warehouse_path=root / "warehouse" / "esante.duckdb"
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return temporary_settings(tmp_path)


@pytest.fixture(scope="session")
def reference() -> ReferenceData:
    return reference_data(REFERENCE_DIR)


def copy_sample(settings: Settings, source_id: str, name: str | None = None) -> list[Path]:
    """Copy the sample file(s) of a source into the temporary raw folder."""
    target = settings.raw_dir / source_id
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for sample in sorted((samples_dir() / source_id).iterdir()):
        if sample.is_file() and (name is None or sample.name == name):
            copied.append(Path(shutil.copy2(sample, target / sample.name)))
    return copied


def copy_all_samples(settings: Settings) -> None:
    for unit in discover_units():
        if (samples_dir() / unit.source_id).is_dir():
            copy_sample(settings, unit.source_id)


def run_pipeline(settings: Settings, instance=None):
    """The whole rebuild through Dagster, in process, on an ephemeral instance (as `esante run` does on
    the project's instance): returns its RunOutcome."""
    from dagster import DagsterInstance

    from pipelines.orchestration.runs import rebuild

    if instance is not None:
        return rebuild(settings, instance)
    with DagsterInstance.ephemeral() as ephemeral:
        return rebuild(settings, ephemeral)


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Settings:
    """One warehouse published from every unit's samples, for the tests that only read it."""
    settings = temporary_settings(tmp_path_factory.mktemp("samples"))
    copy_all_samples(settings)
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.failures
    return settings


def published(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def indicator(
    connection,
    indicator_id: str,
    level: str = "departement",
    code: str = "72",
    segment: str | None = None,
    period: str | None = None,
) -> tuple:
    """(numerator, denominator, value) of one indicator value (the latest period unless one is given)."""
    rows = connection.execute(
        """
        SELECT numerator, denominator, value FROM kpi.indicator_value
        WHERE indicator_id = ? AND territory_level = ? AND territory_code = ?
          AND segment IS NOT DISTINCT FROM ? AND (? IS NULL OR period = CAST(? AS DATE))
        ORDER BY period DESC
        """,
        [indicator_id, level, code, segment, period, period],
    ).fetchall()
    assert rows, f"no value for {indicator_id} {level} {code} {segment} {period}"
    return rows[0]
