"""The incremental case: one new pharmacy-survey wave dropped into raw/ after a full build, taken by
the real sensor and carried to the published warehouse.

    .venv/bin/python -m benchmarks.incremental NEW_WAVE.xlsx   (environment: the benchmark's instance)

Run in a fresh process against the instance and warehouse of a full build (DAGSTER_HOME,
ESANTE_RAW_DIR, ESANTE_WAREHOUSE, ESANTE_TERRITOIRE). What is measured, from the file's arrival
in raw/pharmacy_survey/:

1. the real `raw_uploads` sensor of the code location, evaluated against the real instance with
   the cursor the daemon would hold after the full build (every file already known): a first look
   (the file is new: wait until it is stable), a second look (stable: its RunRequests);
2. those RunRequests executed in process, in order, on the same instance (the upload's validation
   partition, then the refresh of the source: references, staging, indicators, publication), as
   `esante run` executes its job;
3. the published warehouse replaced (its new mtime, checked) with the new wave's values in it: the
   time is taken when the last run returns, the publication being its last step.

Not measured: the daemon's wait between two looks (minimum interval 15 s, so 15 to 30 s in
production before step 1 ends) and the run launcher's process start. Prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path


def main(wave: Path) -> None:
    import duckdb
    from dagster import DagsterInstance, SensorResult, build_sensor_context

    from pipelines.contract import discover_units
    from pipelines.foundation.settings import load_settings
    from pipelines.orchestration.definitions import build_definitions
    from pipelines.orchestration.runs import SILENT_LOGS as QUIET_LOGS
    from pipelines.orchestration.sensors import scan_uploads
    from pipelines.warehouse.publication import processed_uploads

    settings = load_settings()
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("raw_uploads")
    sources = [u.source_id for u in discover_units()]
    # The daemon's cursor after the full build: every file known (the published warehouse holds them).
    cursor = scan_uploads(settings.raw_dir, sources, {}, processed_uploads(settings), now=time.time() + 60).cursor
    published = settings.warehouse_path
    before = published.lstat().st_mtime
    period = dt.date(int(wave.name[:4]), int(wave.name[5:7]), 1)

    with DagsterInstance.get() as instance:
        arrival = time.time()
        target = shutil.copy2(wave, settings.raw_dir / "pharmacy_survey" / wave.name)
        looks, cursor = [], json.dumps(cursor)
        for _ in range(2):  # the first look sees a new file, the second finds it stable
            context = build_sensor_context(instance=instance, definitions=definitions, cursor=cursor)
            result = sensor(context)
            looks.append(type(result).__name__)
            if isinstance(result, SensorResult):
                break
            cursor = context.cursor  # what the sensor kept for its next look
        assert isinstance(result, SensorResult), f"le capteur n'a rien demandé : {looks}"
        sensed = time.time()
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        runs = []
        for request in result.run_requests:
            job = definitions.resolve_job_def(request.job_name)
            outcome = job.execute_in_process(
                instance=instance,
                partition_key=request.partition_key,
                tags=request.tags,
                asset_selection=request.asset_selection,
                run_config=QUIET_LOGS,
                raise_on_error=False,
            )
            assert outcome.success, f"l'exécution {request.job_name} a échoué"
            runs.append(request.job_name)
        done = time.time()
    after = published.lstat().st_mtime
    with duckdb.connect(str(published), read_only=True) as connection:
        visible = connection.execute(
            "SELECT count(*) FROM kpi.indicator_value WHERE indicator_id = 'pharmacy_mssante_rate' AND period = ?",
            [period],
        ).fetchall()[0][0]
    assert after > before and visible, "la nouvelle vague n'est pas visible dans l'entrepôt publié"
    print(
        json.dumps(
            {
                "file": str(target),
                "looks": looks,
                "runs": runs,
                "sensor_seconds": sensed - arrival,
                "arrival_to_published_seconds": done - arrival,
                "published_file_mtime_after_arrival": after - arrival,
                "values_for_the_wave": visible,
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
