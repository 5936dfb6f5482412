"""Shared fixtures: temporary raw folders and warehouses, never the project's own."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.reference import ReferenceData
from pipelines.settings import PROJECT_ROOT, Settings, load_settings

SAMPLES = PROJECT_ROOT / "raw"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty raw folder and a warehouse under tmp_path."""
    raw = tmp_path / "raw"
    raw.mkdir()
    return load_settings().with_paths(raw_dir=raw, warehouse_path=tmp_path / "warehouse" / "esante.duckdb")


@pytest.fixture(scope="session")
def reference() -> ReferenceData:
    return ReferenceData(PROJECT_ROOT / "reference")


def copy_sample(settings: Settings, source_id: str, name: str | None = None) -> list[Path]:
    """Copy the shipped sample file(s) of a source into the temporary raw folder."""
    target = settings.raw_dir / source_id
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for sample in sorted((SAMPLES / source_id).iterdir()):
        if sample.is_file() and (name is None or sample.name == name):
            copied.append(Path(shutil.copy2(sample, target / sample.name)))
    return copied


def run_pipeline(settings: Settings, asset_selection=None, instance=None):
    """Materialize every asset (or a selection) through Dagster, on an ephemeral instance: the
    rebuild, over every month present in raw/ (as the nightly schedule and `esante run` do)."""
    from dagster import DagsterInstance

    from pipelines.definitions import build_definitions, rebuild_request
    from pipelines.orchestration import QUIET_LOGS
    from pipelines.resources import WarehouseResource

    definitions = build_definitions(WarehouseResource.from_settings(settings))
    job = definitions.resolve_job_def("rebuild_warehouse")
    request = rebuild_request(settings)
    return job.execute_in_process(
        instance=instance or DagsterInstance.ephemeral(), raise_on_error=False, run_config=QUIET_LOGS,
        tags=request.tags, asset_selection=asset_selection or request.asset_selection,
    )


def published(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def indicator(connection, indicator_id: str, level: str = "departement", code: str = "72",
              segment: str | None = None, period: str | None = None) -> tuple:
    """(numerator, denominator, value) of one indicator value."""
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
