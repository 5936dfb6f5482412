"""The `esante` command as stewards, analysts and the nightly run use it (real processes)."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT
from tests import hostile_files as hostile
from tests.conftest import copy_sample

SAMPLE = PROJECT_ROOT / "raw" / "pharmacy_survey" / "2024-06 enquete officines.xlsx"


def esante(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "esante"), *map(str, args)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}, cwd=cwd,
    )


@pytest.mark.slow
def test_run_publishes_and_prints_the_roadmap_figures(settings, tmp_path):
    for source in ("pharmacy_survey", "care_registrations", "mes_statistics"):
        copy_sample(settings, source)
    home = tmp_path / "dagster_home"
    result = esante("run", "--raw", settings.raw_dir, "--warehouse", settings.warehouse_path,
                    env={"DAGSTER_HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Entrepôt publié" in result.stdout
    assert "78,8 % (123 / 156)" in result.stdout
    assert "91,0 % (142 / 156)" in result.stdout
    assert "91,1 % (112 / 123)" in result.stdout
    assert settings.warehouse_path.exists()
    assert (home / "storage").is_dir()  # the run is recorded in the Dagster instance

    kpi = esante("kpi", "--indicator", "pharmacy_mssante_rate", "--level", "departement", "--format", "json",
                 "--warehouse", settings.warehouse_path)
    assert kpi.returncode == 0, kpi.stderr
    [value] = json.loads(kpi.stdout)
    assert (value["numerator"], value["denominator"], value["territory_code"]) == (123, 156, "72")

    table = esante("kpi", "--warehouse", settings.warehouse_path, "--indicator", "pharmacy_fax_rate")
    assert "91,0 %" in table.stdout and "91,1 %" in table.stdout

    as_csv = esante("kpi", "--warehouse", settings.warehouse_path, "--format", "csv", "--level", "epci",
                    "--indicator", "pharmacy_mssante_rate")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout), delimiter=";"))
    assert len(rows) >= 10 and sum(float(r["numerator"]) for r in rows) == 123


def test_run_with_nothing_to_read_says_so(tmp_path):
    result = esante("run", "--raw", tmp_path / "absent", "--warehouse", tmp_path / "w.duckdb",
                    env={"DAGSTER_HOME": str(tmp_path / "home")})
    assert result.returncode == 2
    assert "introuvable" in result.stderr


def test_validate_accepts_the_sample():
    result = esante("validate", SAMPLE)
    assert result.returncode == 0, result.stdout
    assert "Fichier accepté : 156 ligne(s)" in result.stdout


def test_validate_rejects_with_a_french_report_and_json(tmp_path):
    folder = tmp_path / "pharmacy_survey"
    folder.mkdir()
    path = hostile.write_survey_xlsx(folder, "2025-01 test.xlsx", [["720008994", "P", "Peut-être", "Non"]],
                                     ["FINESS", "Raison sociale", "MSSanté", "Fax"])
    text = esante("validate", path)
    assert text.returncode == 1
    assert "Fichier rejeté" in text.stdout
    assert "ligne 2, colonne « MSSanté », cellule C2" in text.stdout
    machine = esante("validate", path, "--json")
    assert machine.returncode == 1
    report = json.loads(machine.stdout)
    assert report["accepted"] is False
    assert report["problems"][0]["cell"] == "C2" and report["problems"][0]["value"] == "Peut-être"


def test_validate_usage_errors(tmp_path):
    assert esante("validate", tmp_path / "nope.xlsx").returncode == 2
    stray = tmp_path / "divers" / "fichier.xlsx"
    stray.parent.mkdir()
    stray.write_bytes(SAMPLE.read_bytes())
    unknown = esante("validate", stray)
    assert unknown.returncode == 2 and "Source inconnue" in unknown.stderr
    assert esante("validate", stray, "--source", "pharmacy_survey").returncode == 0


def test_kpi_without_a_warehouse(tmp_path):
    result = esante("kpi", "--warehouse", tmp_path / "absent.duckdb")
    assert result.returncode == 1 and "esante run" in result.stderr
