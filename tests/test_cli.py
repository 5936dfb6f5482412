"""The `esante` command as stewards, analysts and the nightly run use it (real processes)."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile_files as hostile
from tests.conftest import copy_all_samples, sample_path

SAMPLE = sample_path("pharmacy_survey", "2024-06 enquete officines.xlsx")


def esante(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "esante"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.slow
def test_run_publishes_and_prints_the_roadmap_figures_by_name_without_log_lines(settings, tmp_path):
    copy_all_samples(settings)
    home = tmp_path / "dagster_home"
    result = esante(
        "run", "--raw", settings.raw_dir, "--warehouse", settings.warehouse_path, env={"DAGSTER_HOME": str(home)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✔ Entrepôt publié")
    assert any(
        "Officines équipées d'une messagerie sécurisée de santé (MSSanté), Sarthe, 06/2024 : 78,8 % (123 / 156)" in line
        for line in lines
    )
    assert any("Officines possédant encore un fax, Sarthe, 06/2024 : 91,0 % (142 / 156)" in line for line in lines)
    assert any(
        "Établissements inscrits au programme CARE, Pays de la Loire, 10/2024 : 92,9 % (130 / 140)" in line
        for line in lines
    )
    assert "departement 72" not in result.stdout and "region 52" not in result.stdout  # names, not codes
    assert " - dagster - " not in result.stdout + result.stderr  # no raw Dagster log line
    assert result.stderr == ""
    assert (home / ".dagster" / "history" / "runs.db").exists()  # the run is recorded in the Dagster instance

    kpi = esante(
        "kpi",
        "--indicator",
        "pharmacy_mssante_rate",
        "--level",
        "Département",
        "--format",
        "json",
        "--warehouse",
        settings.warehouse_path,
    )
    assert kpi.returncode == 0, kpi.stderr
    [value] = json.loads(kpi.stdout)
    assert (value["numerateur"], value["denominateur"], value["territoire"]) == (123, 156, "Sarthe")

    table = esante("kpi", "--warehouse", settings.warehouse_path, "--indicator", "pharmacy_fax_rate")
    assert "91,0 %" in table.stdout and "91,1 %" in table.stdout and "Sarthe" in table.stdout
    assert "parmi les officines équipées MSSanté" in table.stdout  # the segment, by its name

    as_csv = esante(
        "kpi",
        "--warehouse",
        settings.warehouse_path,
        "--format",
        "csv",
        "--level",
        "EPCI",
        "--indicator",
        "pharmacy_mssante_rate",
    )
    assert as_csv.stdout.startswith("\ufeff")  # French Excel reads UTF-8 only with its byte-order mark
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) >= 10 and sum(int(r["Numérateur"]) for r in rows) == 123
    assert all("," in r["Valeur"] for r in rows if r["Valeur"] not in ("0", "1"))  # decimal comma
    assert any(r["Territoire"].startswith("CU Le Mans Métropole") or "Mans" in r["Territoire"] for r in rows)

    unknown = esante("kpi", "--warehouse", settings.warehouse_path, "--indicator", "nope")
    assert unknown.returncode == 2 and "pharmacy_mssante_rate" in unknown.stderr
    bad_level = esante("kpi", "--warehouse", settings.warehouse_path, "--level", "canton")
    assert bad_level.returncode == 2 and "département, EPCI" in bad_level.stderr


def test_run_with_nothing_to_read_says_so(tmp_path):
    result = esante(
        "run",
        "--raw",
        tmp_path / "absent",
        "--warehouse",
        tmp_path / "w.duckdb",
        env={"DAGSTER_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 2
    assert "introuvable" in result.stderr


def test_validate_accepts_the_sample():
    result = esante("validate", SAMPLE)
    assert result.returncode == 0, result.stdout
    assert "Fichier accepté : 156 ligne(s)" in result.stdout


def test_validate_rejects_with_a_french_report_and_json(tmp_path):
    folder = tmp_path / "pharmacy_survey"
    folder.mkdir()
    path = hostile.write_survey_xlsx(
        folder,
        "2025-01 test.xlsx",
        [["720008994", "P", "Peut-être", "Non"]],
        ["FINESS", "Raison sociale", "MSSanté", "Fax"],
    )
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
