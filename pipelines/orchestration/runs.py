"""A whole rebuild in this process, recorded in the project's Dagster instance (the UI shows it):
what `esante run` and the tests call. It says what happened as data; the CLI words it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from dagster import DagsterInstance

from pipelines.contract.discovery import discover_units
from pipelines.foundation.settings import Settings
from pipelines.orchestration.keys import HOST_TAG, PID_TAG, PUBLICATION_KEY, REBUILD_JOB
from pipelines.orchestration.recovery import fail_dead_runs
from pipelines.orchestration.requests import rebuild_request

# No Dagster log line on the terminal: the outcome is reported in French by the caller.
SILENT_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    settings: Settings
    success: bool
    run_id: str
    failures: list[str] = field(default_factory=list)  # French, one per failed step
    recovered: list[str] = field(default_factory=list)  # French, runs of dead processes failed at start
    notes: list[str] = field(default_factory=list)  # French, what the publication noticed
    published_now: bool = False  # this run published a version (a later step, the committee pack, may fail)

    @property
    def published(self) -> bool:
        return self.published_now and self.settings.warehouse_path.exists()


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else "échec"


def rebuild(settings: Settings, instance: DagsterInstance | None = None) -> RunOutcome:
    """Materialize every asset (from raw/ alone) and publish; runs of dead processes are failed first."""
    from pipelines.orchestration import definitions

    units = discover_units()
    # the code location's own definitions when they are for these settings (the CLI's case)
    built = definitions.defs if settings == Settings.from_environment() else definitions.build_definitions(settings)
    job = built.resolve_job_def(REBUILD_JOB)
    owned = instance is None
    instance = instance or DagsterInstance.get()
    try:
        recovered = fail_dead_runs(instance)
        request = rebuild_request(units, settings)
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=SILENT_LOGS,
            tags={**request.tags, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()},
            asset_selection=request.asset_selection,
        )
    finally:
        if owned:
            instance.dispose()
    failures, notes, published_now = [], [], False
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            text = (user.description if user and user.description else None) or (error.message.strip() if error else "")
            failures.append(f"étape {event.step_key} : {first_line(text)}")
        elif event.event_type_value == "RESOURCE_INIT_FAILURE":  # before any step: the writer lock, a full disk
            error = getattr(event.event_specific_data, "error", None)
            failures.append(first_line(error.message.split(": ", 1)[-1] if error else ""))
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            published_now = published_now or event.asset_key == PUBLICATION_KEY
            metadata = event.event_specific_data.materialization.metadata
            if "remarques" in metadata:
                notes += list(metadata["remarques"].value or [])
    return RunOutcome(
        settings=settings,
        success=result.success,
        run_id=result.run_id,
        failures=failures,
        recovered=recovered,
        notes=notes,
        published_now=published_now,
    )
