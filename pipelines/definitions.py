"""The Dagster code location, assembled in one place.

Source units are discovered in `assets/`; policies that apply to every asset (pool, groups)
are applied by the factories, not repeated per source.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from pipelines.months import range_tags, raw_month_range, union
from pipelines.resources import WarehouseResource
from pipelines.settings import Settings
from pipelines.source import discover_units
from pipelines.sensors import build_upload_jobs, build_upload_sensor
from pipelines.source_assets import REFERENCE_KEYS, build_source_assets, kpi_key, staging_key
from pipelines.warehouse_assets import (
    CATALOGUE_KEY,
    PUBLICATION_KEY,
    build_catalogue_asset,
    build_publication_asset,
    build_reference_assets,
)

UNITS = discover_units()

rebuild_warehouse = define_asset_job(
    "rebuild_warehouse",
    selection=AssetSelection.all() - AssetSelection.key_prefixes("upload"),
    description="Reconstruit tout l'entrepôt depuis raw/ et les données de référence, puis le publie.",
)

SHARED_KEYS = [CATALOGUE_KEY, PUBLICATION_KEY]  # every refresh ends with them


def rebuild_request(settings: Settings) -> RunRequest:
    """A rebuild covers every month present in raw/ (a month partition is never marked loaded
    without data); with no monthly data at all, the monthly indicators are left out."""
    months = union([raw_month_range(unit, settings) for unit in UNITS if unit.monthly])
    if months:
        return RunRequest(tags=range_tags(months))
    every_key = [*REFERENCE_KEYS, *(k for u in UNITS for k in (staging_key(u), kpi_key(u))), *SHARED_KEYS]
    return RunRequest(asset_selection=[k for k in every_key if k not in {kpi_key(u) for u in UNITS if u.monthly}])


def build_nightly_schedule(settings_of):
    @schedule(
        name="nightly_rebuild",
        job=rebuild_warehouse,
        cron_schedule="0 2 * * *",
        execution_timezone="Europe/Paris",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Chaque nuit à 2 h : reconstruction complète depuis raw/ (preuve que rien ne vit que dans "
        "l'entrepôt), tous les mois présents compris.",
    )
    def nightly_rebuild(context: ScheduleEvaluationContext) -> RunRequest:
        return rebuild_request(settings_of())

    return nightly_rebuild


def build_definitions(warehouse: WarehouseResource | None = None) -> Definitions:
    warehouse = warehouse or WarehouseResource.from_settings()
    upload_jobs = build_upload_jobs(UNITS, SHARED_KEYS)
    return Definitions(
        assets=[
            build_reference_assets(),
            *(a for unit in UNITS for a in build_source_assets(unit)),
            build_catalogue_asset(UNITS),
            build_publication_asset(UNITS),
        ],
        jobs=[rebuild_warehouse, *upload_jobs],
        schedules=[build_nightly_schedule(warehouse.settings)],
        sensors=[build_upload_sensor(UNITS, warehouse.settings, upload_jobs, SHARED_KEYS)],
        resources={"warehouse": warehouse},
    )


defs = build_definitions()
