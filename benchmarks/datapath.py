"""The data path of each source against the bare engine that reads its file, in one process.

    .venv/bin/python -m benchmarks.datapath --repeat 5 pharmacy_survey=FILE care_registrations=FILE mes_statistics=FILE

Project: `parse_upload`, what `esante validate` and the pipeline run on a file (pre-flight, read,
header matching, value parsing, pandera model, the source's rules against the references).
Floor: the bare read of the same file, calamine (fastexcel, the sheet to polars) for an xlsx,
DuckDB `read_csv` into a table for a csv. Both are timed in the same process after one untimed
call each: imports, first-call costs and the reading of the reference files (done once per run
or per `esante validate`, whatever the file's size) are the fixed cost, measured apart by the
runner. Medians; one JSON line per file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def median_seconds(action, repeat: int) -> float:
    action()  # untimed: first-call costs
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def floor(path: Path, sheet: str | None):
    import duckdb
    import fastexcel

    if path.suffix.lower() == ".csv":
        return lambda: duckdb.connect().execute(f"CREATE TABLE t AS FROM read_csv('{path}')")
    return lambda: fastexcel.read_excel(path).load_sheet(sheet if sheet is not None else 0).to_polars()


def main() -> None:
    from pipelines.contract import reference_data, unit_by_id
    from pipelines.foundation.settings import load_settings
    from pipelines.validation.parse import parse_upload

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("files", nargs="+", help="source_id=path")
    arguments = parser.parse_args()
    settings = load_settings()
    reference = reference_data(settings.reference_dir, settings.territory_code)  # each table read on first use
    for item in arguments.files:
        source_id, path = item.split("=", 1)
        path, unit = Path(path), unit_by_id(source_id)

        def project(path=path, unit=unit):
            upload = parse_upload(path, unit, reference, settings.limits)
            if not upload.accepted:
                raise SystemExit(f"{path.name} rejeté : le chemin mesuré ne serait pas celui d'un fichier accepté")
            return upload

        upload = project()
        project_seconds = median_seconds(project, arguments.repeat)
        floor_seconds = median_seconds(floor(path, upload.sheet), arguments.repeat)
        print(
            json.dumps(
                {
                    "source": source_id,
                    "file": path.name,
                    "rows": upload.rows,
                    "project": project_seconds,
                    "floor": floor_seconds,
                    "ratio": project_seconds / floor_seconds,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
