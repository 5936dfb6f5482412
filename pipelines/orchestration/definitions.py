"""The Dagster code location, assembled in one place.

Source units are discovered in `assets/`; what applies to every asset (owners, the roadmap
objective and source as tags, the in-process executor) is applied here once, not on each asset.
Runs execute in one process (no process per step: a refresh is seconds of work, a process costs
seconds); the runs that write the warehouse carry a tag the run queue lets through one at a time.
"""

from __future__ import annotations

from dagster import AssetSelection, AssetSpec, Definitions, define_asset_job, in_process_executor

from pipelines.contract.discovery import discover_units, reference_data, reference_tables
from pipelines.contract.unit import SourceUnit
from pipelines.foundation.settings import Settings
from pipelines.orchestration.keys import (
    PUBLICATION_KEY,
    REBUILD_JOB,
    REPORTS_KEY,
    kpi_key,
    reference_key,
    refresh_job_name,
    staging_key,
    upload_key,
    validation_job_name,
)
from pipelines.orchestration.recovery import build_recovery_sensor
from pipelines.orchestration.report_assets import committee_pack
from pipelines.orchestration.resources import ProjectResource, WarehouseResource
from pipelines.orchestration.schedules import build_nightly_schedule
from pipelines.orchestration.sensors import build_upload_sensor
from pipelines.orchestration.shared_assets import publication_asset, reference_asset
from pipelines.orchestration.source_assets import build_source_assets

WRITER_TAG = {"esante/entrepot": "ecriture"}  # dagster.yaml: one such run at a time
SHARED_OWNER = "team:donnees-esante"  # the data team: reference tables and publication


def build_jobs(units: list[SourceUnit], reference_names: list[str]) -> list:
    jobs = [
        define_asset_job(
            REBUILD_JOB,
            selection=AssetSelection.all() - AssetSelection.key_prefixes("raw"),
            tags=WRITER_TAG,
            description="Reconstruit tout l'entrepôt depuis raw/ et les données de référence, puis le publie.",
        )
    ]
    for unit in units:
        jobs.append(
            define_asset_job(
                validation_job_name(unit),
                selection=AssetSelection.assets(upload_key(unit)),
                description=f"Contrôle d'un fichier déposé dans raw/{unit.source_id}/ (une partition par fichier).",
            )
        )
        jobs.append(
            define_asset_job(
                refresh_job_name(unit),
                selection=AssetSelection.assets(
                    *(reference_key(t) for t in reference_names),
                    staging_key(unit),
                    kpi_key(unit),
                    PUBLICATION_KEY,
                    REPORTS_KEY,
                ),
                tags=WRITER_TAG,
                description=f"Charge les nouveaux fichiers de « {unit.label} », recalcule ses indicateurs et publie "
                "l'entrepôt.",
            )
        )
    return jobs


def with_owners_and_tags(spec: AssetSpec, units_by_group: dict[str, SourceUnit]) -> AssetSpec:
    """Every asset: its owner, and for a source's assets the source and its roadmap objective as tags."""
    unit = units_by_group.get(spec.group_name or "")
    if unit is None:
        return spec.replace_attributes(owners=[SHARED_OWNER])
    return spec.replace_attributes(owners=[unit.owner]).merge_attributes(
        tags={"objectif": str(unit.objective), "source": unit.source_id, **unit.tags}
    )


def build_definitions(settings: Settings | None = None) -> Definitions:
    project = ProjectResource.from_settings(settings) if settings else ProjectResource()
    units = discover_units()
    tables = list(reference_tables(units))
    names = [t.name for t in tables]
    jobs = build_jobs(units, names)

    def fingerprint(current: Settings) -> str:
        return reference_data(current.reference_dir, current.territory_code, units).fingerprint()

    definitions = Definitions(
        assets=[
            reference_asset(tables),
            *(a for unit in units for a in build_source_assets(unit, names)),
            publication_asset(units, tables),
            committee_pack,
        ],
        jobs=jobs,
        schedules=[build_nightly_schedule(units, project.settings)],
        sensors=[
            build_upload_sensor(
                units,
                project.settings,
                [j for j in jobs if j.name != REBUILD_JOB],
                [reference_key(n) for n in names],
                fingerprint,
            ),
            build_recovery_sensor(),
        ],
        resources={"project": project, "warehouse": WarehouseResource(project=project)},
        executor=in_process_executor,
    )
    by_group = {u.source_id: u for u in units}
    return definitions.map_asset_specs(func=lambda spec: with_owners_and_tags(spec, by_group))


defs = build_definitions()
