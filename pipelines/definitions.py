"""The Dagster code location, assembled in one place.

Source units are discovered in `assets/`; policies that apply to every asset (pool, groups)
are applied by the factories, not repeated per source.
"""

from __future__ import annotations

from dagster import AssetSelection, DefaultScheduleStatus, Definitions, ScheduleDefinition, define_asset_job

from pipelines.reference import REFERENCE_TABLES
from pipelines.resources import WarehouseResource
from pipelines.source import discover_units
from pipelines.source_assets import build_source_assets
from pipelines.warehouse_assets import build_catalogue_asset, build_publication_asset, build_reference_asset

UNITS = discover_units()

rebuild_warehouse = define_asset_job(
    "rebuild_warehouse",
    selection=AssetSelection.all(),
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
    return Definitions(
        assets=[
            *(build_reference_asset(t) for t in REFERENCE_TABLES),
            *(a for unit in UNITS for a in build_source_assets(unit)),
            build_catalogue_asset(UNITS),
            build_publication_asset(UNITS),
        ],
        jobs=[rebuild_warehouse],
        schedules=[nightly_rebuild],
        resources={"warehouse": warehouse or WarehouseResource.from_settings()},
    )


defs = build_definitions()
