"""The benchmark's yardstick is honest: the analyst's pandas script gives the project's values on
the same generated files (scaled down to the Sarthe, so that it runs in CI)."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from benchmarks.generate import generate
from pipelines.settings import PROJECT_ROOT
from tests.conftest import published, run_pipeline

COMPARED = ("mes_profiles_fed_rate", "mes_documents_per_inhabitant", "pharmacy_mssante_rate", "pharmacy_fax_rate")


def test_the_baseline_script_computes_the_project_values(settings, tmp_path):
    generate(settings.raw_dir, "72", seed=5)
    out = tmp_path / "baseline.csv"
    subprocess.run([sys.executable, "benchmarks/baseline.py", str(settings.raw_dir), str(out)],
                   cwd=PROJECT_ROOT, check=True)
    with out.open(encoding="utf-8") as f:
        baseline = {(r["indicator_id"], r["territory_level"], r["territory_code"], r["period"]): float(r["value"])
                    for r in csv.DictReader(f)}

    assert run_pipeline(settings).success
    with published(settings) as connection:
        project = {
            (i, level, code, period): value
            for i, level, code, period, value in connection.execute(
                "SELECT indicator_id, territory_level, territory_code, strftime(period, '%Y-%m'), value "
                "FROM kpi.indicator_value WHERE list_contains(?, indicator_id) AND segment IS NULL "
                "AND (indicator_id LIKE 'mes_%' OR territory_level = 'departement')", [list(COMPARED)]).fetchall()
        }
    # the script computes MES at every level, the survey by département
    assert {k[0] for k in project} == set(COMPARED)
    assert len(project) > 352 * 24  # every commune, month and indicator
    assert project.keys() == baseline.keys()
    for key, value in project.items():
        assert value == pytest.approx(baseline[key], rel=1e-9), key
