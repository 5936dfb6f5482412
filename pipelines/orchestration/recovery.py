"""Runs whose process died: failed, so that nothing waits for them forever.

A run killed in the middle of a step (SIGKILL, a crash, a reboot) stays STARTED in the instance.
Every run of the project is tagged with its process and host (WarehouseResource, and `esante run`);
a run killed before its resources tagged it is known by the process its start event names, when the
instance launches runs on this machine. A run of this host whose process is gone is reported failed
here, which frees what Dagster holds for it (its place in the run queue and its pool slots). The
writer lock needs nothing: the kernel released it when the process died. `esante run` does this at
start, and a sensor does it in the daemon (beside Dagster's own run monitoring).
"""

import socket

from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, DefaultRunLauncher, RunsFilter

from pipelines.foundation.files import process_alive
from pipelines.orchestration.keys import HOST_TAG, PID_TAG

IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def run_process(instance: DagsterInstance, run: DagsterRun, host: str) -> int | None:
    """The process of a run of this host: its tag, else the process its start event names (a run
    launched here, killed before its resources were set up)."""
    pid = run.tags.get(PID_TAG)
    if pid is not None:
        return int(pid) if run.tags.get(HOST_TAG) == host and pid.isdigit() else None
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return None  # launched elsewhere (a container, a cluster): its own monitoring answers
    started = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    event = started[0].event_log_entry.dagster_event if started else None
    return event.pid if event is not None else None


def fail_dead_runs(instance: DagsterInstance) -> list[str]:
    """Fail the in-progress runs of this host whose process is gone; French lines saying which."""
    host = socket.gethostname()
    lines = []
    for record in instance.get_run_records(RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        pid = run_process(instance, run, host)
        if pid is None or process_alive(pid):
            continue
        message = (
            f"L'exécution {run.run_id[:8]} ({run.job_name}) s'est arrêtée sans finir (processus {pid} "
            "disparu) : elle est marquée en échec, l'entrepôt publié est celui d'avant."
        )
        instance.report_run_failed(run, message)
        free = getattr(instance.event_log_storage, "free_concurrency_slots_for_run", None)
        if free is not None:
            free(run.run_id)
        lines.append(message)
    return lines


def build_recovery_sensor():
    """In the daemon: fail the runs whose process died, every half minute."""
    from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

    @sensor(
        name="executions_interrompues",
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Marque en échec les exécutions dont le processus a disparu (arrêt brutal, redémarrage), "
        "pour que rien ne les attende indéfiniment.",
    )
    def interrupted_runs(context: SensorEvaluationContext) -> SkipReason:
        lines = fail_dead_runs(context.instance)
        for line in lines:
            context.log.warning(line)
        return SkipReason(" ".join(lines) or "Aucune exécution interrompue.")

    return interrupted_runs
