"""A steward drops a file; the sensor takes it once it is complete, by content, and runs follow. Each
upload is validated once (the ledger), rejected files come back with a French report and an
annotated workbook, the upload stays untouched, and nothing that is not a regular file is read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from openpyxl import load_workbook

from pipelines.contract import discover_units, unit_by_id
from pipelines.orchestration.definitions import build_definitions
from pipelines.orchestration.keys import upload_key, upload_partitions
from pipelines.orchestration.sensors import SETTLED_SECONDS, scan_uploads, settled_scan
from pipelines.validation.isolation import validate_upload
from pipelines.validation.parse import parse_upload
from pipelines.validation.reports import report_paths, retire_reports, write_rejection_report
from pipelines.validation.verdicts import validated_uploads
from pipelines.warehouse.publication import processed_uploads
from tests import hostile_files as hostile
from tests.conftest import copy_all_samples, copy_sample, published, run_pipeline, sample_path
from tests.daemon import Daemon, read

SOURCES = [u.source_id for u in discover_units()]
SURVEY = unit_by_id("pharmacy_survey")
HEADERS = ["FINESS", "Raison sociale", "MSSanté", "Fax"]


def sample_wave() -> Path:
    return sample_path("pharmacy_survey", "2024-06 enquete officines.xlsx")


def look(raw: Path, cursor: dict, processed=frozenset(), now: float | None = None):
    scan = scan_uploads(raw, SOURCES, cursor, set(processed), now=now)
    return {s: sorted(p.name for p, _ in files) for s, files in scan.new.items()}, scan.cursor


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


# --- the scan: complete files, once, by content ---------------------------------------------------


def test_a_file_being_written_waits_and_a_complete_one_is_taken_once(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    fresh = folder / "2024-06 enquete.xlsx"
    shutil.copyfile(sample_wave(), fresh)  # its modification time is now: maybe still being copied
    new, cursor = look(settings.raw_dir, {})
    assert new == {}
    new, cursor = look(settings.raw_dir, cursor)  # unchanged since the last look: complete
    assert new == {"pharmacy_survey": ["2024-06 enquete.xlsx"]}
    assert look(settings.raw_dir, cursor)[0] == {}  # already taken
    settled = folder / "2024-07 enquete.xlsx"
    hostile.write_survey_xlsx(folder, settled.name, [["720008994", "P", "Oui", "Non"]], HEADERS)
    age(settled, SETTLED_SECONDS + 1)  # untouched for a while when first seen: taken at once
    new, _ = look(settings.raw_dir, cursor)
    assert new == {"pharmacy_survey": ["2024-07 enquete.xlsx"]}


def test_a_fresh_drop_is_taken_in_the_same_tick_beside_a_settled_one(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    settled = folder / "2024-05 enquete.xlsx"
    hostile.write_survey_xlsx(folder, settled.name, [["720008994", "P", "Oui", "Non"]], HEADERS)
    age(settled, SETTLED_SECONDS + 1)
    shutil.copyfile(sample_wave(), folder / "2024-06 enquete.xlsx")  # just copied: looked at again
    scan = settled_scan(settings.raw_dir, SOURCES, {}, set())
    assert sorted(p.name for p, _ in scan.new["pharmacy_survey"]) == ["2024-05 enquete.xlsx", "2024-06 enquete.xlsx"]
    assert scan.waiting == []
    assert settled_scan(settings.raw_dir, SOURCES, scan.cursor, set()).new == {}  # taken once


def test_a_file_still_growing_waits(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    partial = folder / "2024-06 enquete.xlsx"
    data = sample_wave().read_bytes()
    partial.write_bytes(data[: len(data) // 2])
    _, cursor = look(settings.raw_dir, {})
    with partial.open("ab") as handle:  # the copy goes on between the two looks
        handle.write(data[len(data) // 2 :])
    new, cursor = look(settings.raw_dir, cursor)
    assert new == {}
    new, _ = look(settings.raw_dir, cursor)
    assert new == {"pharmacy_survey": ["2024-06 enquete.xlsx"]}


def test_same_content_under_another_name_counts_once_and_a_changed_file_is_new(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    shutil.copy2(sample_wave(), folder / "a.xlsx")
    shutil.copy2(sample_wave(), folder / "copie de a.xlsx")
    later = time.time() + 60
    new, cursor = look(settings.raw_dir, {}, now=later)
    assert sum(len(v) for v in new.values()) == 1
    hostile.write_survey_xlsx(folder, "a.xlsx", [["720008994", "P", "Oui", "Non"]], HEADERS)
    age(folder / "a.xlsx", -5)  # rewritten: a new modification time
    _, cursor = look(settings.raw_dir, cursor)
    new, _ = look(settings.raw_dir, cursor)
    assert new == {"pharmacy_survey": ["a.xlsx"]}


def test_lock_temporary_hidden_files_reports_and_non_files_are_never_read(settings, tmp_path):
    folder = settings.raw_dir / "pharmacy_survey"
    (folder / "_rejets").mkdir(parents=True)
    for name in ("~$enquete.xlsx", "enquete.xlsx.tmp", "enquete.part", ".enquete.xlsx", "_rejets/x.xlsx"):
        (folder / name).write_bytes(sample_wave().read_bytes())
    secret = tmp_path / "secret.xlsx"  # outside raw/: must never be read through a link
    shutil.copy2(sample_wave(), secret)
    (folder / "2024-06 lien.xlsx").symlink_to(secret)
    (folder / "2024-06 etc.csv").symlink_to("/etc/passwd")
    (folder / "2024-06 dossier.xlsx").mkdir()
    os.mkfifo(folder / "2024-06 tube.csv")  # opening a FIFO would block forever
    new, cursor = look(settings.raw_dir, {}, now=time.time() + 60)
    assert new == {} and cursor["seen"] == {}


def test_links_folders_and_fifos_are_listed_in_french_and_nothing_outside_raw_is_read(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    copy_sample(settings, "pharmacy_survey")
    (folder / "2024-09 etc.csv").symlink_to("/etc/passwd")
    os.mkfifo(folder / "2024-09 tube.csv")
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.failures
    with published(settings) as connection:
        files = [r[0] for r in connection.execute("SELECT file_name FROM audit.upload").fetchall()]
        messages = [
            r[0]
            for r in connection.execute(
                "SELECT message FROM audit.check_result WHERE NOT passed AND check_name = 'fichiers_deposes_valides'"
            ).fetchall()
        ]
        passwd = connection.execute(
            "SELECT count(*) FROM audit.upload WHERE size_bytes = ?", [Path("/etc/passwd").stat().st_size]
        ).fetchall()[0][0]
    assert files == ["2024-06 enquete officines.xlsx"]
    assert any("« 2024-09 etc.csv » est un lien symbolique" in m for m in messages), messages
    assert any("« 2024-09 tube.csv » est un tube nommé" in m for m in messages), messages
    assert passwd == 0
    [upload] = parse_upload(folder / "2024-09 etc.csv", SURVEY, None, settings.limits).problems
    assert "lien symbolique" in upload.message  # the pre-flight refuses it too, without opening it


def test_an_upload_already_in_the_published_warehouse_is_not_processed_again(settings):
    """`esante run` (or the nightly rebuild) published them: a sensor starting afresh leaves them be."""
    copy_all_samples(settings)
    assert run_pipeline(settings).published
    processed = processed_uploads(settings)
    files = [p for p in settings.raw_dir.rglob("*") if p.is_file() and "_rejets" not in p.parts]
    assert len(processed) == len(files) >= 4
    new, cursor = look(settings.raw_dir, {}, processed, now=time.time() + 60)
    assert new == {}
    assert sum(len(v) for v in cursor["known"].values()) == len(files)


# --- the Dagster sensor ---------------------------------------------------------------------------


def test_the_sensor_asks_for_a_validation_and_a_coalesced_refresh(settings):
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("raw_uploads")
    copy_sample(settings, "pharmacy_survey")
    age(next((settings.raw_dir / "pharmacy_survey").iterdir()), 60)
    with DagsterInstance.ephemeral() as instance:
        result = sensor(build_sensor_context(instance=instance, definitions=definitions))
        assert isinstance(result, SensorResult)
        jobs = sorted(r.job_name for r in result.run_requests)
        assert jobs == ["refresh_pharmacy_survey", "validate_pharmacy_survey_upload"]
        [partition] = result.dynamic_partitions_requests
        assert partition.partitions_def_name == "pharmacy_survey_uploads"
        assert next(iter(partition.partition_keys)).endswith("2024-06 enquete officines.xlsx")
        refresh = next(r for r in result.run_requests if r.job_name == "refresh_pharmacy_survey")
        selected = [k.to_user_string() for k in refresh.asset_selection]
        assert selected[-2:] == ["warehouse/published_warehouse", "reports/committee_pack"]
        assert "ref/commune" in selected  # nothing published yet: the reference tables are loaded too

        # a refresh of this source already waits in the queue: a new drop joins it
        from dagster._core.storage.dagster_run import DagsterRun

        waiting = DagsterRun(job_name="refresh_pharmacy_survey", run_id="a" * 36, status=DagsterRunStatus.NOT_STARTED)
        instance.add_run(waiting)  # created, not started (the queue holds it)
        hostile.write_survey_xlsx(
            settings.raw_dir / "pharmacy_survey", "2024-07 relance.xlsx", [["720008994", "P", "Oui", "Non"]], HEADERS
        )
        age(settings.raw_dir / "pharmacy_survey" / "2024-07 relance.xlsx", 60)
        context = build_sensor_context(instance=instance, definitions=definitions, cursor=result.cursor)
        joined = sensor(context)
        assert [r.job_name for r in joined.run_requests] == ["validate_pharmacy_survey_upload"]


def test_an_upload_left_unpublished_is_asked_again_as_soon_as_its_refresh_is_over(settings):
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("raw_uploads")
    copy_sample(settings, "pharmacy_survey")
    age(next((settings.raw_dir / "pharmacy_survey").iterdir()), 60)
    from dagster._core.storage.dagster_run import DagsterRun

    with DagsterInstance.ephemeral() as instance:
        first = sensor(build_sensor_context(instance=instance, definitions=definitions))
        cursor = json.loads(first.cursor)
        for state in cursor["pending"]["pharmacy_survey"].values():
            state["asked"] -= 60  # its refresh was asked for a minute ago
        running = DagsterRun(job_name="refresh_pharmacy_survey", run_id="b" * 36, status=DagsterRunStatus.STARTED)
        instance.add_run(running)
        context = build_sensor_context(instance=instance, definitions=definitions, cursor=json.dumps(cursor))
        assert isinstance(sensor(context), SkipReason)  # the refresh still runs: its end tells
        instance.report_run_failed(running)  # it died (failed by run monitoring): the upload is not published
        context = build_sensor_context(instance=instance, definitions=definitions, cursor=json.dumps(cursor))
        again = sensor(context)
        assert [r.job_name for r in again.run_requests] == ["refresh_pharmacy_survey"]
        assert json.loads(again.cursor)["pending"]["pharmacy_survey"].popitem()[1]["attempts"] == 2


def test_a_monthly_source_is_refreshed_once_its_new_files_are_validated_with_their_months(settings, reference):
    definitions = build_definitions(settings)
    sensor = definitions.resolve_sensor_def("raw_uploads")
    nightly = definitions.resolve_schedule_def("nightly_rebuild")
    paths = copy_sample(settings, "mes_statistics")
    for path in paths:
        age(path, 60)
    with DagsterInstance.ephemeral() as instance:
        first = sensor(build_sensor_context(instance=instance, definitions=definitions))
        assert sorted(r.job_name for r in first.run_requests) == ["validate_mes_statistics_upload"] * 2
        waiting = sensor(build_sensor_context(instance=instance, definitions=definitions, cursor=first.cursor))
        assert isinstance(waiting, SkipReason)  # the months are not known before the verdicts
        validated_uploads(unit_by_id("mes_statistics"), paths, reference, settings)  # what the validation runs do
        second = sensor(build_sensor_context(instance=instance, definitions=definitions, cursor=first.cursor))
        [refresh] = second.run_requests
        from dagster import build_schedule_context

        [rebuild] = nightly.evaluate_tick(build_schedule_context(instance=instance)).run_requests
    expected = {"dagster/asset_partition_range_start": "2023-11", "dagster/asset_partition_range_end": "2024-11"}
    assert refresh.job_name == "refresh_mes_statistics" and expected.items() <= refresh.tags.items()
    assert expected.items() <= rebuild.tags.items() and rebuild.tags["esante/rechargement"] == "complet"


def test_a_rejected_upload_fails_its_partition_with_an_error_check_and_a_valid_one_materializes(settings):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    good = copy_sample(settings, "pharmacy_survey")[0]
    bad = hostile.write_survey_xlsx(folder, "2024-07 fautes.xlsx", [["720008994", "P", "Bientôt", "Non"]], HEADERS)
    definitions = build_definitions(settings)
    job = definitions.resolve_job_def("validate_pharmacy_survey_upload")
    partitions = upload_partitions(SURVEY)
    from pipelines.foundation.files import file_sha256
    from pipelines.validation.uploads import partition_key

    keys = {path: partition_key(path.name, file_sha256(path)) for path in (good, bad)}
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(partitions.name, list(keys.values()))
        assert job.execute_in_process(instance=instance, partition_key=keys[good], raise_on_error=False).success
        failed = job.execute_in_process(instance=instance, partition_key=keys[bad], raise_on_error=False)
        assert not failed.success
        failure = next(e for e in failed.all_events if e.is_step_failure)
        assert "Fichier rejeté : 2024-07 fautes.xlsx" in failure.step_failure_data.user_failure_data.description
        assert instance.get_materialized_partitions(upload_key(SURVEY)) == {keys[good]}
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(upload_key(SURVEY), "fichier_conforme"), limit=10
        )
        outcome = {record.partition: record.status.value for record in history}
        assert outcome == {keys[good]: "SUCCEEDED", keys[bad]: "FAILED"}
    text_report, annotated = report_paths(bad)
    assert text_report.exists() and annotated.exists()


# --- reports beside rejected uploads ---------------------------------------------------------------


def test_a_rejected_workbook_comes_back_annotated_and_untouched(settings, reference):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(["720008994", "P1", "Bientôt", "Non"])
    sheet.append(["720009000", "P2", "Oui", "x"])
    sheet["D3"].value, sheet["D3"].data_type = "=cmd|' /C calc'!A0", "s"  # text that looks like a formula
    path = folder / "2025-01 enquete.xlsx"
    workbook.save(path)
    original = path.read_bytes()
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    assert not upload.accepted
    written = write_rejection_report(upload, settings.limits)
    text_path, workbook_path = report_paths(path)
    assert written == [text_path, workbook_path]
    assert path.read_bytes() == original
    report = text_path.read_text(encoding="utf-8")
    assert "Fichier rejeté : 2025-01 enquete.xlsx" in report and "cellule C2" in report and "Bientôt" in report
    assert "Verdict : invalide" in report
    annotated = load_workbook(workbook_path)
    assert annotated.sheetnames[0] == "Problèmes"
    cell = annotated[upload.sheet]["C2"]
    assert cell.fill.start_color.rgb == "FFFF9999"
    assert "Oui ou Non" in cell.comment.text
    injected = [
        c for row in annotated["Problèmes"].iter_rows(min_row=2) for c in row if c.value == "=cmd|' /C calc'!A0"
    ]
    assert injected and all(c.data_type == "s" for c in injected)  # never a formula Excel would run
    assert not list(folder.glob("_rejets/.*.tmp"))  # written whole, through a temporary file


def test_reports_are_rewritten_when_unreadable_and_retired_once_the_file_is_accepted(settings, reference):
    folder = settings.raw_dir / "pharmacy_survey"
    folder.mkdir()
    path = hostile.write_survey_xlsx(folder, "2024-06 enquete.xlsx", [["720008994", "P", "Bientôt", "Non"]], HEADERS)
    upload = parse_upload(path, SURVEY, reference, settings.limits)
    text_path, workbook_path = report_paths(path)
    write_rejection_report(upload, settings.limits)
    workbook_path.write_bytes(b"PK\x03\x04 truncated")  # a copy cut short by a crash
    write_rejection_report(upload, settings.limits)
    assert load_workbook(workbook_path).sheetnames[0] == "Problèmes"  # rewritten, readable
    # the steward drops the corrected file under the same name: accepted, the old reports go
    shutil.copy2(sample_wave(), path)
    outcome = run_pipeline(settings)
    assert outcome.published
    assert not text_path.exists() and not workbook_path.exists()
    assert retire_reports(folder, set()) == []


def test_a_sheet_of_a_million_rows_beside_a_valid_file_gets_a_text_report_and_the_valid_one_publishes(settings):
    from openpyxl import Workbook

    folder = settings.raw_dir / "pharmacy_survey"
    copy_sample(settings, "pharmacy_survey")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(["720008994", "P", "Oui", "Non"])
    sheet["A1048576"] = "une cellule oubliée"  # the sheet now spans every row Excel has
    stray = folder / "2024-07 enquete.xlsx"
    workbook.save(stray)
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.failures
    text_report, annotated = report_paths(stray)
    assert text_report.exists() and not annotated.exists()
    assert "Pas de copie annotée" in text_report.read_text(encoding="utf-8")
    with published(settings) as connection:
        statuses = dict(connection.execute("SELECT file_name, status FROM audit.upload").fetchall())
        values = connection.execute(
            "SELECT numerator, denominator FROM kpi.indicator_value WHERE indicator_id = "
            "'pharmacy_mssante_rate' AND territory_level = 'departement'"
        ).fetchall()
    assert statuses == {"2024-06 enquete officines.xlsx": "accepted", "2024-07 enquete.xlsx": "rejected"}
    assert values == [(123, 156)]


def test_each_upload_is_parsed_once_and_its_verdict_reused(settings, reference):
    copy_sample(settings, "pharmacy_survey")
    [path] = list((settings.raw_dir / "pharmacy_survey").iterdir())
    first = validate_upload(path, SURVEY, reference, settings)
    verdicts = list((settings.ledger_dir / "pharmacy_survey").glob("*.json"))
    assert len(verdicts) == 1 and first.accepted and first.rows == 156
    stamp = verdicts[0].stat().st_mtime_ns
    again = validate_upload(path, SURVEY, reference, settings)  # read back, not parsed again
    assert verdicts[0].stat().st_mtime_ns == stamp
    assert again.frame.equals(first.frame) and again.period == first.period


# --- the real daemon ------------------------------------------------------------------------------


@pytest.mark.daemon
def test_the_real_daemon_publishes_a_dropped_file_and_reports_a_broken_one(settings, tmp_path, monkeypatch):
    for source in SOURCES:
        (settings.raw_dir / source).mkdir()
    daemon = Daemon(settings, tmp_path / "home", tmp_path / "dev.log")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    daemon.start()
    query = (
        "SELECT numerator, denominator FROM kpi.indicator_value WHERE indicator_id = 'pharmacy_mssante_rate' "
        "AND territory_level = 'departement'"
    )
    try:
        copy_sample(settings, "pharmacy_survey")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and read(settings.warehouse_path, query) != [(123, 156)]:
            time.sleep(1)
        assert read(settings.warehouse_path, query) == [(123, 156)], (tmp_path / "dev.log").read_text()[-3000:]

        broken = hostile.write_survey_xlsx(
            settings.raw_dir / "pharmacy_survey",
            "2024-06 corrigee.xlsx",
            [["720008994", "P", "Bientôt", "Non"]],
            HEADERS,
        )
        text_report, annotated = report_paths(broken)
        while time.monotonic() < deadline and not (
            annotated.exists() and ("pharmacy_survey", _sha(broken)) in processed_uploads(settings)
        ):
            time.sleep(1)
        assert text_report.exists() and annotated.exists()
        assert read(settings.warehouse_path, query) == [(123, 156)]  # a rejected file changes no indicator
        with daemon.instance() as instance:
            failed = instance.get_runs(
                filters=RunsFilter(job_name="validate_pharmacy_survey_upload", statuses=[DagsterRunStatus.FAILURE])
            )
        assert len(failed) == 1  # the rejected upload is visibly failed
    finally:
        daemon.stop()


def _sha(path: Path) -> str:
    from pipelines.foundation.files import file_sha256

    return file_sha256(path)


@pytest.mark.daemon
def test_starting_the_daemon_after_esante_run_launches_no_run(settings, tmp_path, monkeypatch):
    copy_all_samples(settings)
    home = tmp_path / "home"
    daemon = Daemon(settings, home, tmp_path / "dev.log")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "esante"), "run"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with daemon.instance() as instance:
        before = len(instance.get_runs())
    daemon.start()
    try:
        time.sleep(25)  # five ticks of the sensor at least
        with daemon.instance() as instance:
            runs = instance.get_runs()
            ticks = instance.get_ticks(
                next(s for s in instance.all_instigator_state() if s.name == "raw_uploads").instigator_origin_id,
                next(s for s in instance.all_instigator_state() if s.name == "raw_uploads").selector_id,
            )
    finally:
        daemon.stop()
    assert len(runs) == before == 1  # only the run of `esante run` itself
    assert ticks, (tmp_path / "dev.log").read_text()[-3000:]  # the sensor did look
    assert json.loads(ticks[0].cursor or "{}").get("known")  # and knew the files
