"""Benchmark: the project's full build against the usual analyst script (baseline) and the bare engines (floor).

    .venv/bin/python -m benchmarks.run [--scale france|72|x4] [--repeat 3] [--work /tmp/esante-bench]

Each measure runs in a fresh process (imports included, as a person would wait for it), several
times; the table gives medians of wall time and of peak memory (resident set of the process),
then the ratios baseline / project (> 1: the project is faster) and project / floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate
from pipelines.settings import PROJECT_ROOT

PYTHON = sys.executable
ESANTE = str(Path(sys.executable).parent / "esante")
FLOOR_CSV = "import duckdb, sys; duckdb.sql(\"CREATE TABLE t AS FROM read_csv('\" + sys.argv[1] + \"')\")"
FLOOR_XLSX = "import fastexcel, sys; fastexcel.read_excel(sys.argv[1]).load_sheet(0).to_polars()"


def measure(command: list[str], env: dict | None = None, before=None) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one process."""
    if before:
        before()
    start = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, cwd=PROJECT_ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{command} a échoué : {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="france", choices=["72", "france", "x4"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "esante-bench")
    arguments = parser.parse_args()
    raw = arguments.work / arguments.scale / "raw"
    if not raw.exists():
        print(f"Génération des fichiers ({arguments.scale}) dans {raw} …")
        generate(raw, arguments.scale)
    csvs = sorted((raw / "mes_statistics").glob("*.csv"))
    workbooks = sorted((raw / "pharmacy_survey").glob("*.xlsx"))
    home, warehouse = arguments.work / "dagster_home", arguments.work / "warehouse"
    territory = "72" if arguments.scale == "72" else "france"
    project_env = {"DAGSTER_HOME": str(home), "ESANTE_TERRITOIRE": territory, "ESANTE_RAW_DIR": str(raw),
                   "ESANTE_WAREHOUSE": str(warehouse / "esante.duckdb"), "DAGSTER_DISABLE_TELEMETRY": "1"}

    def empty_warehouse():
        shutil.rmtree(warehouse, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    measures = {
        "projet : esante run (Dagster, entrepôt vide)": ([ESANTE, "run"], project_env, empty_warehouse),
        "projet : esante validate (une vague d'enquête)": ([ESANTE, "validate", str(workbooks[0])], project_env, None),
        "référence : script pandas + openpyxl": ([PYTHON, "benchmarks/baseline.py", str(raw), str(arguments.work / "baseline.csv")], None, None),
        "plancher : DuckDB read_csv (MES)": ([PYTHON, "-c", FLOOR_CSV, *map(str, csvs[:1])], None, None),
        "plancher : fastexcel/calamine (enquête)": ([PYTHON, "-c", FLOOR_XLSX, str(workbooks[0])], None, None),
    }
    results = {}
    for label, (command, env, before) in measures.items():
        runs = [measure(command, env, before) for _ in range(arguments.repeat)]
        results[label] = (statistics.median(w for w, _ in runs), statistics.median(m for _, m in runs))
        print(f"{label:50s} {results[label][0]:7.2f} s  {results[label][1]:7.0f} Mio", flush=True)
    project, baseline = results["projet : esante run (Dagster, entrepôt vide)"][0], results["référence : script pandas + openpyxl"][0]
    floor = results["plancher : DuckDB read_csv (MES)"][0] + results["plancher : fastexcel/calamine (enquête)"][0]
    rows = sum(sum(1 for _ in f.open()) - 1 for f in csvs)
    print(f"\nÉchelle {arguments.scale} : {rows:_} lignes MES, {len(workbooks)} vague(s) d'enquête ; ".replace("_", " ")
          + f"{os.cpu_count()} cœurs ; médianes sur {arguments.repeat} exécutions.")
    print(f"référence / projet : {baseline / project:.2f}  (> 1 : le projet est plus rapide)")
    print(f"projet / plancher  : {project / floor:.1f}")


if __name__ == "__main__":
    main()
