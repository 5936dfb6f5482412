"""A steward drops a file; the sensor notices it once it is complete, by content, and runs follow.
Rejected files come back with a French report and an annotated workbook; the upload stays untouched."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context
from openpyxl import load_workbook
from pipelines.sensors import scan_uploads

from pipelines.contract import unit_by_id
from pipelines.validation.parse import parse_upload
from pipelines.validation.reports import report_paths, write_rejection_report
from tests import hostile_files as hostile
from tests.conftest import SAMPLES, copy_sample

SOURCES = ["pharmacy_survey", "care_registrations", "mes_statistics"]
SAMPLE = SAMPLES / "pharmacy_survey" / "2024-06 enquete officines.xlsx"


def look(raw: Path, cursor: dict):
    scan = scan_uploads(raw, SOURCES, cursor)
    return {s: sorted(p.name for p, _ in files) for s, files in scan.new.items()}, scan.cursor


def test_a_new_file_is_taken_once_it_is_stable_and_only_once(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    shutil.copy2(SAMPLE, folder / "2024-06 enquete.xlsx")
    new, cursor = look(settings.raw_dir, {})
    assert new == {}  # first look: maybe still being copied
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {"pharmacy_survey": ["2024-06 enquete.xlsx"]}
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {}  # already processed


def test_a_file_still_being_written_waits(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    partial = folder / "2024-06 enquete.xlsx"
    data = SAMPLE.read_bytes()
    partial.write_bytes(data[: len(data) // 2])
    new, cursor = look(settings.raw_dir, {})
    with partial.open("ab") as handle:  # the copy goes on between the two looks
        handle.write(data[len(data) // 2 :])
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {}
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {"pharmacy_survey": ["2024-06 enquete.xlsx"]}


def test_same_content_under_another_name_counts_once_and_a_changed_file_is_new(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    shutil.copy2(SAMPLE, folder / "a.xlsx")
    shutil.copy2(SAMPLE, folder / "copie de a.xlsx")
    _, cursor = look(settings.raw_dir, {})
    new, cursor = look(settings.raw_dir, cursor)
    assert sum(len(v) for v in new.values()) == 1
    changed = folder / "a.xlsx"
    hostile.write_survey_xlsx(folder, "a.xlsx")
    os.utime(changed, (time.time() + 5, time.time() + 5))
    _, cursor = look(settings.raw_dir, cursor)
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {"pharmacy_survey": ["a.xlsx"]}


def test_lock_temporary_hidden_files_and_reports_are_ignored(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    (folder / "_rejets").mkdir(parents=True)
    for name in ("~$enquete.xlsx", "enquete.xlsx.tmp", "enquete.part", ".enquete.xlsx", "_rejets/x.xlsx"):
        (folder / name).write_bytes(SAMPLE.read_bytes())
    _, cursor = look(settings.raw_dir, {})
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {} and cursor["seen"] == {}


def test_the_dagster_sensor_requests_a_partition_and_a_refresh(settings):
    from pipelines.definitions import build_definitions
    from pipelines.resources import WarehouseResource

    definitions = build_definitions(WarehouseResource.from_settings(settings))
    sensor = definitions.resolve_sensor_def("raw_uploads")
    copy_sample(settings, "pharmacy_survey")
    with DagsterInstance.ephemeral() as instance:
        first = sensor(build_sensor_context(instance=instance, definitions=definitions))
        assert isinstance(first, SkipReason)
        cursor = json.dumps(scan_uploads(settings.raw_dir, SOURCES, {}).cursor)
        result = sensor(build_sensor_context(instance=instance, definitions=definitions, cursor=cursor))
    assert isinstance(result, SensorResult)
    jobs = sorted(r.job_name for r in result.run_requests)
    assert jobs == ["refresh_pharmacy_survey", "validate_pharmacy_survey_upload"]
    [partition] = result.dynamic_partitions_requests
    assert partition.partitions_def_name == "pharmacy_survey_uploads"
    assert list(partition.partition_keys)[0].endswith("2024-06 enquete officines.xlsx")


def test_mes_uploads_and_the_nightly_rebuild_request_their_month_partitions(settings):
    """A monthly source's refresh names the months its new files touch; the nightly rebuild covers
    every month present in raw/, and leaves monthly indicators out when there is none."""
    from dagster import AssetKey, build_schedule_context
    from pipelines.definitions import build_definitions
    from pipelines.resources import WarehouseResource

    definitions = build_definitions(WarehouseResource.from_settings(settings))
    sensor = definitions.resolve_sensor_def("raw_uploads")
    nightly = definitions.resolve_schedule_def("nightly_rebuild")
    with DagsterInstance.ephemeral() as instance:
        empty = nightly.evaluate_tick(build_schedule_context(instance=instance)).run_requests[0]
        assert AssetKey(["kpi", "mes_statistics"]) not in empty.asset_selection
        assert AssetKey(["kpi", "pharmacy_survey"]) in empty.asset_selection
        copy_sample(settings, "mes_statistics")
        cursor = json.dumps(scan_uploads(settings.raw_dir, SOURCES, {}).cursor)
        result = sensor(build_sensor_context(instance=instance, definitions=definitions, cursor=cursor))
        [rebuild] = nightly.evaluate_tick(build_schedule_context(instance=instance)).run_requests
    [refresh] = [r for r in result.run_requests if r.job_name == "refresh_mes_statistics"]
    # two files: 2023-11 .. 2024-06 and 2024-07 .. 2024-11
    expected = {"dagster/asset_partition_range_start": "2023-11", "dagster/asset_partition_range_end": "2024-11"}
    assert expected.items() <= refresh.tags.items()
    assert expected.items() <= rebuild.tags.items() and rebuild.asset_selection is None


def test_a_rejected_workbook_comes_back_annotated_and_untouched(settings, reference):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["FINESS", "Raison sociale", "MSSanté", "Fax"])
    sheet.append(["720008994", "P1", "Bientôt", "Non"])
    sheet.append(["720009000", "P2", "Oui", "x"])
    sheet["D3"].value, sheet["D3"].data_type = "=cmd|' /C calc'!A0", "s"  # text that looks like a formula
    path = folder / "2025-01 enquete.xlsx"
    workbook.save(path)
    original = path.read_bytes()
    upload = parse_upload(path, unit_by_id("pharmacy_survey"), reference, settings)
    assert not upload.accepted
    written = write_rejection_report(path, upload.problems, upload.sha256)
    text_path, workbook_path = report_paths(path)
    assert written == [text_path, workbook_path]
    assert path.read_bytes() == original
    report = text_path.read_text(encoding="utf-8")
    assert "Fichier rejeté : 2025-01 enquete.xlsx" in report and "cellule C2" in report and "Bientôt" in report
    annotated = load_workbook(workbook_path)
    assert annotated.sheetnames[0] == "Problèmes"
    cell = annotated[upload.sheet]["C2"]
    assert cell.fill.start_color.rgb == "FFFF9999"
    assert "Oui ou Non" in cell.comment.text
    listing = [row for row in annotated["Problèmes"].iter_rows(min_row=2, values_only=True)]
    assert listing[0][5] == "Bientôt"
    # a value that looks like a formula is written back as text, never as a formula
    injected = [
        c for row in annotated["Problèmes"].iter_rows(min_row=2) for c in row if c.value == "=cmd|' /C calc'!A0"
    ]
    assert injected and all(c.data_type == "s" for c in injected)


def test_a_file_that_cannot_be_opened_gets_a_text_report_only(settings, reference):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    path = hostile.write_pdf_as_xlsx(folder, "2025-01 rapport.xlsx")
    upload = parse_upload(path, unit_by_id("pharmacy_survey"), reference, settings)
    written = write_rejection_report(path, upload.problems, upload.sha256)
    assert [p.name for p in written] == ["2025-01 rapport.xlsx.rapport.txt"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fed(warehouse: Path, query: str):
    if not warehouse.exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(query).fetchall()


@pytest.mark.slow
def test_the_real_daemon_updates_the_warehouse_when_a_file_is_dropped(settings, tmp_path):
    """`dagster dev` (webserver + daemon) on a temporary instance and folder, as a steward would use it."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_STORAGE_DIR": str(home / ".dagster"),
        "DAGSTER_COMPUTE_LOGS_DIR": str(home / ".dagster" / "logs"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "ESANTE_RAW_DIR": str(settings.raw_dir),
        "ESANTE_WAREHOUSE": str(settings.warehouse_path),
    }
    for source in SOURCES:
        (settings.raw_dir / source).mkdir()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-m",
            "pipelines.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(_free_port()),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "dev.log", "w"),
        start_new_session=True,
    )
    query = (
        "SELECT numerator, denominator FROM kpi.indicator_value WHERE indicator_id = 'pharmacy_mssante_rate' "
        "AND territory_level = 'departement'"
    )
    try:
        copy_sample(settings, "pharmacy_survey")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _fed(settings.warehouse_path, query) != [(123, 156)]:
            time.sleep(2)
        assert _fed(settings.warehouse_path, query) == [(123, 156)], (tmp_path / "dev.log").read_text()[-3000:]

        broken = hostile.write_survey_xlsx(
            settings.raw_dir / "pharmacy_survey",
            "2024-06 corrigee.xlsx",
            [["720008994", "P", "Bientôt", "Non"]],
            ["FINESS", "Raison sociale", "MSSanté", "Fax"],
        )
        text_report, annotated = report_paths(broken)
        while time.monotonic() < deadline and not annotated.exists():
            time.sleep(2)
        assert text_report.exists() and annotated.exists()
        assert _fed(settings.warehouse_path, query) == [(123, 156)]  # a rejected file changes no indicator
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
