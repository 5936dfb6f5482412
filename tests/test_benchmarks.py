"""The benchmark's yardstick is honest: the analyst's pandas script gives the project's values on
the same generated files (scaled down to the Sarthe, so that it runs in CI); and the benchmark itself
runs, at its smoke scale, to the end of its table."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from benchmarks.generate import generate
from pipelines.contract import unit_by_id
from pipelines.foundation.settings import PROJECT_ROOT
from tests.conftest import published, run_pipeline

COMPARED = (
    "mes_profiles_fed_rate",
    "mes_documents_per_inhabitant",
    "pharmacy_mssante_rate",
    "pharmacy_fax_rate",
    "care_registration_rate",
    "care_candidates_by_category",
    "crisis_exercise_status",
)


def test_the_baseline_script_computes_the_project_values(settings, tmp_path):
    generate(settings.raw_dir, "72", seed=5)
    out = tmp_path / "baseline.csv"
    subprocess.run(
        [sys.executable, "benchmarks/baseline.py", str(settings.raw_dir), str(out)], cwd=PROJECT_ROOT, check=True
    )
    with out.open(encoding="utf-8") as f:
        baseline = {
            (r["indicator_id"], r["territory_level"], r["territory_code"], r["period"], r["segment"]): float(r["value"])
            for r in csv.DictReader(f)
        }

    assert run_pipeline(settings).published
    with published(settings) as connection:
        project = {
            (i, level, code, period, segment): value
            for i, level, code, period, segment, value in connection.execute(
                "SELECT indicator_id, territory_level, territory_code, strftime(period, '%Y-%m'), "
                "coalesce(segment, ''), value FROM kpi.indicator_value WHERE list_contains(?, indicator_id) "
                "AND (indicator_id LIKE 'c%' OR (segment IS NULL "
                "AND (indicator_id LIKE 'mes_%' OR territory_level = 'departement')))",
                [list(COMPARED)],
            ).fetchall()
        }
    # the script computes MES at every level, the survey by département, CARE by région and département
    # with its segments (categories, crisis-exercise statuses)
    assert {k[0] for k in project} == set(COMPARED)
    assert len(project) > 352 * 24  # every commune, month and indicator
    care = {k for k in project if k[0].startswith("c")}
    assert {(k[1], k[2]) for k in care} == {
        ("region", "52"),
        *(("departement", d) for d in ("44", "49", "53", "72", "85")),
    }
    assert project.keys() == baseline.keys()
    for key, value in project.items():
        assert value == pytest.approx(baseline[key], rel=1e-9), key


@pytest.mark.slow
def test_the_benchmark_runs_at_smoke_scale_and_prints_its_ratios(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--scale", "smoke", "--repeat", "1", "--work", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout
    for line in (
        "référence / projet",
        "projet / plancher",
        f"{unit_by_id('pharmacy_survey').label} (xlsx) / calamine",
        f"{unit_by_id('care_registrations').label} (xlsx) / calamine",
        f"{unit_by_id('mes_statistics').label} (csv) / DuckDB read_csv",
        "coût fixe : esante run, raw/ vide",
        "incrémental : nouvelle vague d'enquête",
    ):
        assert line in table, table
