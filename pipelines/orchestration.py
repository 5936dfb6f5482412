"""Run the whole build through Dagster from the CLI, and say in French what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.settings import Settings

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

SUMMARY_QUERY = """
WITH latest AS (
    SELECT *, row_number() OVER (
        PARTITION BY indicator_id, territory_level, territory_code, segment ORDER BY period DESC) AS rank
    FROM kpi.indicator_value
    WHERE territory_level = 'region' OR (territory_level = 'departement' AND territory_code = $departement)
)
SELECT i.objective, i.label, l.territory_level, l.territory_code, l.period, l.segment,
       l.numerator, l.denominator, l.value, l.unit
FROM latest AS l JOIN kpi.indicator AS i USING (indicator_id)
WHERE rank = 1
ORDER BY i.objective, l.indicator_id, l.territory_level DESC, l.segment NULLS FIRST
"""


@dataclass
class RunOutcome:
    settings: Settings
    success: bool
    run_id: str
    failures: list[str] = field(default_factory=list)

    @property
    def published(self) -> bool:
        return self.success and self.settings.warehouse_path.exists()

    def report(self) -> str:
        from pipelines.cli import format_count, format_value

        lines = []
        if not self.published:
            lines.append("✘ Aucun entrepôt n'a été publié : le précédent (s'il existe) reste en place.")
            lines.extend(f"  - {f}" for f in self.failures)
            return "\n".join(lines)
        path = self.settings.warehouse_path
        lines.append(f"✔ Entrepôt publié : {_shown(path)}  (exécution Dagster {self.run_id[:8]})")
        with duckdb.connect(str(path), read_only=True) as connection:
            uploads = connection.execute(
                "SELECT source_id, file_name, status, rows, message FROM audit.upload ORDER BY source_id, file_name"
            ).fetchall()
            accepted = [u for u in uploads if u[2] == "accepted"]
            rejected = [u for u in uploads if u[2] == "rejected"]
            lines.append(f"Fichiers : {len(accepted)} accepté(s), {len(rejected)} rejeté(s).")
            for source_id, name, _, _, message in rejected:
                first = message.splitlines()[0] if message else ""
                more = len(message.splitlines()) - 1 if message else 0
                lines.append(f"  ✘ {source_id}/{name} : {first}" + (f" (+{more} autre(s))" if more else ""))
            values = connection.execute(SUMMARY_QUERY, {"departement": self.settings.territory.code if self.settings.territory.level == "departement" else None}).fetchall()
            failed_checks = connection.execute(
                "SELECT source_id, message FROM audit.check_result WHERE NOT passed AND check_name <> 'fichiers_deposes_valides'"
            ).fetchall()
        if values:
            lines.append("")
            lines.append("Indicateurs (dernière période) :")
        for objective, label, level, code, period, segment, numerator, denominator, value, unit in values:
            ratio = f" ({format_count(numerator)} / {format_count(denominator)})" if denominator is not None else ""
            where = f"{level} {code}"
            lines.append(
                f"  [obj. {objective}] {label}{' – ' + segment if segment else ''}, {where}, "
                f"{period:%m/%Y} : {format_value(value, unit)}{ratio}"
            )
        if failed_checks:
            lines.append("")
            lines.append("Contrôles de qualité en échec (avertissements, les données sont chargées) :")
            lines.extend(f"  ! {source}: {message}" for source, message in failed_checks)
        return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def rebuild(settings: Settings) -> RunOutcome:
    """Materialize every asset in the project's Dagster instance (the UI shows the run)."""
    from dagster import DagsterInstance

    from pipelines.definitions import build_definitions, rebuild_request
    from pipelines.resources import WarehouseResource

    job = build_definitions(WarehouseResource.from_settings(settings)).resolve_job_def("rebuild_warehouse")
    request = rebuild_request(settings)  # which months, if any
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET_LOGS,
            tags=request.tags, asset_selection=request.asset_selection,
        )
    failures = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            failures.append(f"étape {event.step_key} : {error.message.strip() if error else 'échec'}")
    return RunOutcome(settings=settings, success=result.success, run_id=result.run_id, failures=failures)
