"""Publishing the warehouse: each version is its own file, and `warehouse/esante.duckdb` is the way in.

A publication checkpoints the working database, copies it byte for byte into a new file of
`warehouse/versions/`, checks the copy (row counts and a checksum of the indicator values against
the working database), then points `warehouse/esante.duckdb` (a relative symbolic link) at it in
one atomic rename. So:
- an analyst holding a version keeps reading it; a new session opens the new one;
- a run that dies before the rename leaves the published version as it was;
- an analyst who opened a version read-write (a common mistake) has their journal (`.wal`) beside
  that version only: DuckDB puts it beside the real file, so it can never be replayed onto a later
  version. Their changes, and a journal left by a crashed session, are reported in French;
- a full disk is said in one French line, after the oldest versions were pruned to make room, and
  nothing is left behind.
A small manifest beside the working database records what was published (for the upload sensor:
which uploads are already in the warehouse).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipelines.foundation.files import atomic_path, fsync, remove_stale_temporaries, write_atomically
from pipelines.foundation.settings import Settings
from pipelines.warehouse.staging import loaded_reference

MANIFEST = "published.json"
MARGIN_BYTES = 32 * 1024**2  # room kept free beyond the copy itself

# What must be equal in the working database and its published copy.
CONTENT_DIGEST = """
SELECT
    (SELECT count(*) FROM kpi.indicator_value) AS indicator_values,
    (SELECT coalesce(bit_xor(hash(indicator_id, territory_level, territory_code, period, segment, numerator,
                                   denominator, value, unit, note, upload_sha256)), 0)
     FROM kpi.indicator_value) AS indicator_checksum,
    (SELECT count(*) FROM audit.upload) AS uploads,
    (SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()) AS tables
"""


class DiskFull(RuntimeError):
    """Not enough room to build or publish: the message is the one French line the operator reads."""


@dataclass
class Publication:
    path: Path  # the version file
    published_at: str
    run_id: str | None
    digest: dict
    processed: list[list[str]]  # [source_id, sha256] of every upload in the warehouse (accepted or rejected)
    reference: str | None
    size: int
    mtime_ns: int
    notes: list[str] = field(default_factory=list)  # French: what was noticed on the previous version


def published_version(settings: Settings) -> Path | None:
    """The version file `warehouse/esante.duckdb` points at (the file itself for an older layout)."""
    link = settings.warehouse_path
    if link.is_symlink():
        target = link.parent / os.readlink(link)
        return target if target.exists() else None
    return link if link.exists() else None


def read_manifest(settings: Settings) -> dict | None:
    try:
        return json.loads((settings.build_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def processed_uploads(settings: Settings) -> set[tuple[str, str]]:
    """(source_id, sha256) of the uploads the published warehouse holds: the sensor leaves them be."""
    manifest = read_manifest(settings)
    if manifest is None or published_version(settings) is None:
        return set()
    return {(source, sha) for source, sha in manifest.get("processed", [])}


def content_digest(connection: duckdb.DuckDBPyConnection) -> dict:
    [row] = connection.execute(CONTENT_DIGEST).fetchall()
    return dict(zip(("indicator_values", "indicator_checksum", "uploads", "tables"), row))


def ensure_free_space(folder: Path, needed: int, what: str, settings: Settings | None = None) -> None:
    """Make sure `needed` bytes (plus a margin) are free in `folder`, pruning old versions first when
    `settings` is given; else one French line that says what, how much and what to do."""
    folder.mkdir(parents=True, exist_ok=True)
    required = needed + MARGIN_BYTES
    if shutil.disk_usage(folder).free >= required:
        return
    if settings is not None:
        prune_versions(settings, keep=0)
    free = shutil.disk_usage(folder).free
    if free < required:
        raise DiskFull(
            f"Disque plein : {what} demande {required / 1024**2:.0f} Mo libres dans {folder}, il n'y en a que "
            f"{free / 1024**2:.0f} Mo (anciennes versions déjà supprimées). Libérez de la place sur ce disque "
            "puis relancez ; l'entrepôt publié reste celui d'avant."
        )


def is_disk_full(error: BaseException) -> bool:
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in str(error)


def publish(settings: Settings, run_id: str | None = None) -> Publication:
    """Copy the checkpointed working database into a new version, check it, and point the way in at it.
    The working database must be closed by every other connection (it is checkpointed here)."""
    working = settings.working_database
    with duckdb.connect(str(working)) as connection:
        connection.execute("CHECKPOINT").fetchall()  # everything in the file, nothing left in the journal
        digest = content_digest(connection)
        processed = connection.execute("SELECT source_id, sha256 FROM audit.upload ORDER BY ALL").fetchall()
        reference = loaded_reference(connection)
    if Path(f"{working}.wal").exists():
        raise RuntimeError(f"journal WAL inattendu après le point de contrôle : {working}.wal")
    versions = settings.versions_dir
    remove_stale_temporaries(versions)
    ensure_free_space(versions, working.stat().st_size, "la publication de l'entrepôt", settings)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    version = versions / f"{settings.warehouse_path.stem}-{stamp}.duckdb"
    notes = _previous_version_notes(settings)
    try:
        with atomic_path(version) as temporary:
            shutil.copyfile(working, temporary)
        with duckdb.connect(str(version), read_only=True) as copy:
            copied = content_digest(copy)
        if copied != digest:
            version.unlink(missing_ok=True)
            raise RuntimeError(f"la copie publiée ne correspond pas à la base de travail ({copied} ≠ {digest})")
        _point_at(settings.warehouse_path, version)
    except OSError as error:
        version.unlink(missing_ok=True)
        if is_disk_full(error):
            raise DiskFull(
                f"Disque plein pendant la publication ({versions}) : libérez de la place puis relancez ; "
                "l'entrepôt publié reste celui d'avant."
            ) from None
        raise
    stat = version.stat()
    publication = Publication(
        path=version,
        published_at=dt.datetime.now().isoformat(timespec="seconds"),
        run_id=run_id,
        digest=digest,
        processed=[list(p) for p in processed],
        reference=reference,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        notes=notes,
    )
    write_atomically(settings.build_dir / MANIFEST, json.dumps(asdict(publication), default=str, ensure_ascii=False))
    prune_versions(settings, keep=settings.kept_versions)
    return publication


def _point_at(link: Path, version: Path) -> None:
    """`link` becomes a relative symbolic link to `version`, in one rename (a plain file of an older
    layout is kept as a version first)."""
    if link.exists() and not link.is_symlink():
        stamp = dt.datetime.fromtimestamp(link.stat().st_mtime).strftime("%Y%m%dT%H%M%S%f")
        os.replace(link, version.parent / f"{link.stem}-{stamp}.duckdb")
    temporary = link.parent / f".{link.name}.{os.getpid()}.link"
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(version, link.parent), temporary)
    os.replace(temporary, link)
    fsync(link.parent)


def _previous_version_notes(settings: Settings) -> list[str]:
    """French notes on the version being replaced: written to by someone, or a journal beside it."""
    current = published_version(settings)
    manifest = read_manifest(settings)
    if current is None:
        return []
    notes = []
    journal = Path(f"{current}.wal")
    if journal.exists():
        notes.append(
            f"Quelqu'un a ouvert l'entrepôt publié en écriture ({current.name}) : son journal {journal.name} est "
            "resté à côté de cette version, qui seule en est affectée (la nouvelle version ne l'est pas). Ouvrez "
            "l'entrepôt en lecture seule : duckdb -readonly warehouse/esante.duckdb, ou "
            "duckdb.connect(..., read_only=True)."
        )
    if manifest and Path(manifest.get("path", "")) == current:
        stat = current.stat()
        if (stat.st_size, stat.st_mtime_ns) != (manifest.get("size"), manifest.get("mtime_ns")):
            notes.append(
                f"La version {current.name} a été modifiée après sa publication (une session en écriture) : ces "
                "modifications ne sont pas dans la nouvelle version, qui est reconstruite depuis raw/. Elles "
                f"restent dans warehouse/versions/{current.name}."
            )
    return notes


def prune_versions(settings: Settings, keep: int) -> list[Path]:
    """Remove the oldest versions beyond `keep` (never the published one), with their journals."""
    current = published_version(settings)
    versions = sorted(settings.versions_dir.glob(f"{settings.warehouse_path.stem}-*.duckdb"))
    removable = [v for v in versions if current is None or v.resolve() != current.resolve()]
    removed = removable[: max(0, len(removable) - keep)]
    for old in removed:
        old.unlink(missing_ok=True)
        Path(f"{old}.wal").unlink(missing_ok=True)
    remove_stale_temporaries(settings.versions_dir)  # a copy cut short by a killed run
    return removed
