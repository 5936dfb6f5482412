"""The nightly rebuild: everything from raw/ alone, every night, as proof that nothing lives only in
the warehouse (and to pick up the reference data or the rules if they changed)."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from pipelines.contract.unit import SourceUnit
from pipelines.orchestration.keys import REBUILD_JOB
from pipelines.orchestration.requests import rebuild_request


def build_nightly_schedule(units: list[SourceUnit], settings_of):
    @schedule(
        name="nightly_rebuild",
        job_name=REBUILD_JOB,
        cron_schedule="0 2 * * *",
        execution_timezone="Europe/Paris",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Chaque nuit à 2 h : reconstruction complète depuis raw/ (preuve que rien ne vit que dans "
        "l'entrepôt), tous les mois présents compris.",
    )
    def nightly_rebuild(context: ScheduleEvaluationContext) -> RunRequest:
        return rebuild_request(units, settings_of())

    return nightly_rebuild
