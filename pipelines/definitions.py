"""The Dagster code location, assembled in one place.

Source units are discovered in `assets/`; policies that apply to every asset (pool, groups)
are applied by the factories, not repeated per source.
"""

from __future__ import annotations

from dagster import AssetSelection, DefaultScheduleStatus, Definitions, ScheduleDefinition, define_asset_job

from pipelines.reference import REFERENCE_TABLES
from pipelines.resources import WarehouseResource
from pipelines.source import discover_units
from pipelines.sensors import build_upload_jobs, build_upload_sensor
from pipelines.source_assets import REFERENCE_KEYS, build_source_assets, kpi_key, staging_key
from pipelines.warehouse_assets import (
    CATALOGUE_KEY,
    PUBLICATION_KEY,
    build_catalogue_asset,
    build_publication_asset,
    build_reference_asset,
)

UNITS = discover_units()

rebuild_warehouse = define_asset_job(
    "rebuild_warehouse",
    selection=AssetSelection.all() - AssetSelection.key_prefixes("upload"),
    description="Reconstruit tout l'entrepôt depuis raw/ et les données de référence, puis le publie.",
)

nightly_rebuild = ScheduleDefinition(
    name="nightly_rebuild",
    job=rebuild_warehouse,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Paris",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Chaque nuit à 2 h : reconstruction complète depuis raw/ (preuve que rien ne vit que dans l'entrepôt).",
)


def build_definitions(warehouse: WarehouseResource | None = None) -> Definitions:
    warehouse = warehouse or WarehouseResource.from_settings()
    upload_jobs = build_upload_jobs(
        UNITS, [staging_key(u) for u in UNITS], [kpi_key(u) for u in UNITS],
        # references are cheap to reload and make a refresh work on an empty warehouse too
        [*REFERENCE_KEYS, CATALOGUE_KEY, PUBLICATION_KEY],
    )
    return Definitions(
        assets=[
            *(build_reference_asset(t) for t in REFERENCE_TABLES),
            *(a for unit in UNITS for a in build_source_assets(unit)),
            build_catalogue_asset(UNITS),
            build_publication_asset(UNITS),
        ],
        jobs=[rebuild_warehouse, *upload_jobs],
        schedules=[nightly_rebuild],
        sensors=[build_upload_sensor(UNITS, warehouse.settings, upload_jobs)],
        resources={"warehouse": warehouse},
    )


defs = build_definitions()
