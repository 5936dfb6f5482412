"""Backups: `esante sauvegarde` archives raw/, the instance, the warehouse versions and the portal;
`esante restauration` puts them back in an empty folder, where the same indicators are rebuilt."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.cli import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main
from pipelines.foundation.settings import Settings, prepare_dagster_home
from tests.conftest import copy_all_samples, run_pipeline, temporary_settings


def kpi_values(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("SELECT * EXCLUDE (computed_at) FROM kpi.indicator_value ORDER BY ALL").fetchall()


def use(settings: Settings, monkeypatch) -> None:
    """The process environment of an operator working on these settings (what `esante` reads)."""
    monkeypatch.delenv("ESANTE_DAGSTER_PG_URL", raising=False)
    for name, value in prepare_dagster_home(settings).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def installation(tmp_path, monkeypatch) -> Settings:
    """A warehouse in service: every sample published through a real SQLite instance, a portal folder,
    and a symbolic link a steward left in raw/ (never archived)."""
    settings = dataclasses.replace(temporary_settings(tmp_path / "site"), portal_dir=tmp_path / "site" / "portail")
    copy_all_samples(settings)
    (settings.portal_dir / "depots").mkdir(parents=True)
    (settings.portal_dir / "comptes.json").write_text('{"accounts": []}', encoding="utf-8")
    (settings.portal_dir / "comptes.json").chmod(0o600)
    (settings.raw_dir / "pharmacy_survey" / "lien.xlsx").symlink_to("/etc/passwd")
    use(settings, monkeypatch)
    with DagsterInstance.get() as instance:
        outcome = run_pipeline(settings, instance)
    assert outcome.published, outcome.failures
    return settings


def test_a_backup_restored_into_an_empty_folder_rebuilds_the_same_indicators(
    installation, tmp_path, monkeypatch, capsys
):
    original = kpi_values(installation.warehouse_path)
    with DagsterInstance.get() as instance:
        run_ids = sorted(r.run_id for r in instance.get_runs())
    assert run_ids

    assert main(["sauvegarde", "--out", str(tmp_path / "sauvegardes")]) == EXIT_OK
    [archive] = (tmp_path / "sauvegardes").glob("esante-sauvegarde-*.tar.gz")
    assert archive.stat().st_mode & 0o077 == 0  # the portal's accounts are in it: private
    output = capsys.readouterr()
    assert "lien.xlsx : lien symbolique, non sauvegardé" in output.err

    target = tmp_path / "restauree"
    assert main(["restauration", str(archive), "--vers", str(target)]) == EXIT_OK
    said = capsys.readouterr().out
    assert f"ESANTE_RAW_DIR={target / 'raw'}" in said and f"DAGSTER_HOME={target / 'instance'}" in said

    # raw/ byte for byte (the link left out), the portal's folder, the published warehouse as it was
    originals = sorted(p.relative_to(installation.raw_dir) for p in installation.raw_dir.rglob("*") if p.is_file())
    originals = [p for p in originals if not (installation.raw_dir / p).is_symlink()]
    restored = sorted(p.relative_to(target / "raw") for p in (target / "raw").rglob("*") if p.is_file())
    assert restored == originals and len(restored) >= 4
    assert all((target / "raw" / p).read_bytes() == (installation.raw_dir / p).read_bytes() for p in restored)
    assert (target / "portail" / "comptes.json").read_text(encoding="utf-8") == '{"accounts": []}'
    assert (target / "portail" / "comptes.json").stat().st_mode & 0o777 == 0o600  # still private
    restored_warehouse = target / "warehouse" / installation.warehouse_path.name
    assert restored_warehouse.is_symlink()
    assert kpi_values(restored_warehouse) == original

    # the instance: the same runs, read through the restored dagster.yaml
    again = dataclasses.replace(
        temporary_settings(tmp_path / "unused"),
        raw_dir=target / "raw",
        warehouse_path=restored_warehouse,
        dagster_home=target / "instance",
        portal_dir=target / "portail",
    )
    use(again, monkeypatch)
    with DagsterInstance.get() as instance:
        assert sorted(r.run_id for r in instance.get_runs()) == run_ids

    # and everything rebuilt from the restored raw/ alone, into a new warehouse
    rebuilt = again.with_paths(warehouse_path=tmp_path / "reconstruit" / "esante.duckdb")
    outcome = run_pipeline(rebuilt)
    assert outcome.published, outcome.failures
    assert kpi_values(rebuilt.warehouse_path) == original


def test_a_restore_refuses_a_folder_in_use_and_an_altered_archive(installation, tmp_path, capsys):
    assert main(["sauvegarde", "--out", str(tmp_path / "sauvegardes")]) == EXIT_OK
    [archive] = (tmp_path / "sauvegardes").glob("*.tar.gz")

    busy = tmp_path / "occupe"
    (busy / "raw").mkdir(parents=True)
    assert main(["restauration", str(archive), "--vers", str(busy)]) == EXIT_USAGE
    assert "n'est pas vide" in capsys.readouterr().err

    # one raw file changed inside the archive, its inventory left as it was
    altered = tmp_path / "alteree.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(altered, "w:gz") as copy:
        manifest = json.loads(source.extractfile("SAUVEGARDE.json").read())
        victim = next(n for n in manifest["files"] if n.startswith("raw/pharmacy_survey/"))
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name == victim:
                data = data[:-10] + b"0123456789"
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    assert main(["restauration", str(altered), "--vers", str(tmp_path / "vide")]) == EXIT_REJECTED
    message = capsys.readouterr().err
    assert "est altérée : 1 fichier(s)" in message and victim in message
