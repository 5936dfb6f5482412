"""The analyst's `esante kpi`: names of places, the levels as people write them, the valid choices listed on
a mistake, a short default, the French Excel dialect for CSV, and a workbook with real numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from pipelines.cli import parser
from pipelines.cli.kpi import command_kpi
from tests.conftest import published


def kpi(capsys, settings, *options) -> tuple[int, str, str]:
    """`esante kpi` in this process on the given warehouse: (exit code, stdout, stderr)."""
    args = parser().parse_args(["kpi", *map(str, options)])
    code = command_kpi(args, settings)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_places_by_name_at_every_level_as_people_write_it(capsys, sample_warehouse):
    with published(sample_warehouse) as connection:
        epci_names = {r[0]: r[1] for r in connection.execute("SELECT epci_siren, epci_nom FROM ref.epci").fetchall()}
    for written, level in (
        ("EPCI", "epci"),
        ("epci", "epci"),
        ("Département", "departement"),
        ("departement", "departement"),
        ("Région", "region"),
        ("Commune", "commune"),
    ):
        code, out, err = kpi(capsys, sample_warehouse, "--level", written, "--format", "json")
        assert code == 0, err
        records = json.loads(out)
        assert records and {r["niveau"] for r in records} == {level}, written
        assert all(r["territoire"] for r in records), written  # every place has its name
    code, out, _ = kpi(
        capsys, sample_warehouse, "--level", "EPCI", "--indicator", "pharmacy_mssante_rate", "--format", "json"
    )
    records = json.loads(out)
    assert {r["territoire"] for r in records} <= set(epci_names.values())
    assert all(r["territoire"] == epci_names[r["code_territoire"]] for r in records)
    assert sum(r["numerateur"] for r in records) == 123
    assert all(isinstance(r["numerateur"], int) and isinstance(r["denominateur"], int) for r in records)


def test_a_mistake_lists_the_valid_choices(capsys, sample_warehouse):
    code, out, err = kpi(capsys, sample_warehouse, "--indicator", "taux_mssante")
    assert code == 2 and out == ""
    with published(sample_warehouse) as connection:
        catalogue = connection.execute("SELECT indicator_id, label FROM kpi.indicator").fetchall()
    assert "Indicateur inconnu : « taux_mssante »" in err
    for indicator_id, label in catalogue:
        assert f"{indicator_id} : {label}" in err
    code, out, err = kpi(capsys, sample_warehouse, "--level", "canton")
    assert code == 2
    assert "Niveau inconnu : « canton »" in err
    for level in ("région", "département", "EPCI", "commune"):
        assert level in err
    code, _, err = kpi(capsys, sample_warehouse, "--format", "xlsx")
    assert code == 2 and "--sortie" in err  # a workbook needs a file name


def test_the_default_is_the_latest_values_of_the_territory_and_its_region(capsys, sample_warehouse):
    code, out, err = kpi(capsys, sample_warehouse, "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    with published(sample_warehouse) as connection:
        expected = connection.execute(
            "SELECT count(*) FROM kpi.v_dernieres_valeurs WHERE (niveau = 'departement' AND code_territoire = '72') "
            "OR (niveau = 'region' AND code_territoire = '52')"
        ).fetchone()[0]
        everything = connection.execute("SELECT count(*) FROM kpi.indicator_value").fetchone()[0]
    assert len(records) == expected and len(records) < everything / 20
    assert {r["territoire"] for r in records} == {"Sarthe", "Pays de la Loire"}
    # the latest period only: one row per indicator, territory and segment
    keys = [(r["indicateur"], r["code_territoire"], r["segment"]) for r in records]
    assert len(keys) == len(set(keys))
    all_periods = json.loads(kpi(capsys, sample_warehouse, "--format", "json", "--all-periods")[1])
    assert len(all_periods) > len(records)

    code, table, _ = kpi(capsys, sample_warehouse, "--indicator", "pharmacy_mssante_rate")
    line = next(line for line in table.splitlines() if "Sarthe" in line)
    assert "Officines équipées d'une messagerie sécurisée de santé (MSSanté)" in line  # the label, not only the id
    assert "06/2024" in line and "78,8 %" in line and "123" in line and "156" in line


def test_csv_in_the_french_excel_dialect(capsys, sample_warehouse, tmp_path):
    code, out, err = kpi(
        capsys, sample_warehouse, "--format", "csv", "--all-periods", "--indicator", "mes_documents_per_inhabitant"
    )
    assert code == 0, err
    assert out.startswith("\ufeff") and "\r\n" in out
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"), newline=""), delimiter=";"))
    with published(sample_warehouse) as connection:
        expected = {
            (r[0], r[1], r[2].strftime("%d/%m/%Y")): r[3:]
            for r in connection.execute(
                "SELECT niveau, code_territoire, periode, numerateur, denominateur, valeur FROM kpi.v_series "
                "WHERE indicateur = 'mes_documents_per_inhabitant' AND niveau IN ('departement', 'region')"
            ).fetchall()
        }
    assert len(rows) == len(expected) > 0
    for row in rows:
        numerator, denominator, value = expected[(row["Niveau"], row["Code du territoire"], row["Période"])]
        assert row["Numérateur"] == str(numerator) and row["Dénominateur"] == str(denominator)  # integers
        assert float(row["Valeur"].replace(",", ".")) == pytest.approx(value) and "," in row["Valeur"]
        assert row["Territoire"] == "Sarthe"
        assert row["Valeur affichée"] in ("3,87", "3,95")

    target = tmp_path / "indicateurs.csv"
    code, out, err = kpi(capsys, sample_warehouse, "--format", "csv", "--sortie", target)
    assert code == 0 and out == "" and "Fichier CSV écrit" in err
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with its byte-order mark
    assert target.read_text(encoding="utf-8-sig").splitlines()[0].startswith("Objectif;Indicateur;Libellé;")


def test_a_workbook_with_numbers_dates_and_french_formats(capsys, sample_warehouse, tmp_path):
    target = tmp_path / "export.xlsx"
    code, out, err = kpi(capsys, sample_warehouse, "--format", "xlsx", "--sortie", target, "--all-periods")
    assert code == 0, err
    assert f"Classeur écrit : {target}" in out
    sheet = load_workbook(target)["Indicateurs"]
    headers = [c.value for c in sheet[1]]
    column = {h: i for i, h in enumerate(headers)}
    with published(sample_warehouse) as connection:
        expected = {
            (r[0], r[1], r[2], r[3]): r[4:]
            for r in connection.execute(
                "SELECT indicateur, code_territoire, periode, segment, numerateur, denominateur, valeur "
                "FROM kpi.v_series WHERE (niveau = 'departement' AND code_territoire = '72') "
                "OR (niveau = 'region' AND code_territoire = '52')"
            ).fetchall()
        }
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(expected)
    for cells in rows:
        value = {h: cells[i].value for h, i in column.items()}
        period = value["Période"]
        assert isinstance(period, dt.datetime)
        key = (value["Indicateur"], value["Code du territoire"], period.date(), value["Segment"])
        numerator, denominator, number = expected[key]
        assert (value["Numérateur"], value["Dénominateur"]) == (numerator, denominator)
        assert value["Valeur"] == pytest.approx(number)
        unit_format = {"taux": "0.0 %", "par habitant": "#,##0.00", "nombre": "#,##0", "moyenne": "0.0"}[value["Unité"]]
        assert cells[column["Valeur"]].number_format == unit_format
        period_format = {"mois": "mm/yyyy", "trimestre": "mm/yyyy", "date": "dd/mm/yyyy"}[value["Grain"]]
        assert cells[column["Période"]].number_format == period_format
        assert cells[column["Numérateur"]].number_format == "#,##0"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")


def test_kpi_does_not_load_dagster(sample_warehouse):
    """`esante kpi` stays quick: the command line of an analyst loads neither Dagster nor the pipeline."""
    code = (
        "import sys\n"
        "from pipelines.cli import main\n"
        f"assert main(['kpi', '--warehouse', {str(sample_warehouse.warehouse_path)!r}, '--format', 'json']) == 0\n"
        "print('dagster' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_objective_views_read_from_the_widest_territory_down_the_whole_before_its_segments(sample_warehouse):
    levels = ["region", "departement", "epci", "commune"]
    with published(sample_warehouse) as connection:
        rows = connection.execute(
            "SELECT indicateur, niveau, territoire, segment FROM kpi.v_objectif_6_telesante"
        ).fetchall()
    assert len(rows) > 10
    keys = [
        (indicator, levels.index(level), place, segment is not None, segment or "")
        for indicator, level, place, segment in rows
    ]
    assert keys == sorted(keys)
    assert rows[0][1] == "departement" and rows[0][3] is None  # the département's whole value comes first
