"""`esante sauvegarde` and `esante restauration`: one archive holds everything an agency cannot lose.

    esante sauvegarde --out DIR                        DIR/esante-sauvegarde-AAAAMMJJ-HHMMSS.tar.gz
    esante restauration ARCHIVE --vers DIR [--instance-pg URL]

The archive (a gzip'd tar, readable by `tar` alone, private to its owner: the portal's accounts are
in it) holds:
- raw/: every regular file the stewards dropped, reports included. It is enough to rebuild
  everything else (`esante run`);
- instance/: the Dagster instance, so that no run, sensor cursor or schedule is lost: its dagster.yaml
  and either a consistent copy of its SQLite files (SQLite's online backup, while the daemon runs)
  or `pg_dump` of its PostgreSQL database (ESANTE_DAGSTER_PG_URL); compute logs are left out;
- warehouse/: the published versions, the link to the current one, the committee pack and the
  pipeline's private area (working database, ledger, manifest), copied while holding the warehouse
  writer lock: no run writes in the middle of the copy;
- portail/: the portal's folder (accounts, deposits);
- SAUVEGARDE.json: what is in it, with the sha256 of every file, checked again on restore.

A restore goes into an empty folder (never over a running installation) and says which settings
point the services at it. Restoring a PostgreSQL instance needs an empty database (`--instance-pg`).
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from pipelines.foundation.files import kind_of, open_regular
from pipelines.foundation.settings import Settings

MANIFEST = "SAUVEGARDE.json"
FORMAT = 1
PG_DUMP = "instance/dagster.pgdump"
WRITER_LOCK = "writer.lock"  # the warehouse writer's lock in warehouse/.build (pipelines/orchestration/resources.py)
WAIT_REPORT_SECONDS = 15
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SKIPPED_INSTANCE_FOLDERS = ("compute_logs",)  # run logs: large, and not needed to resume


def register(commands) -> None:
    backup = commands.add_parser(
        "sauvegarde",
        help="archive raw/, l'instance Dagster, les versions de l'entrepôt et le portail",
    )
    backup.add_argument("--out", type=Path, required=True, help="dossier où écrire l'archive")
    backup.set_defaults(run=command_backup)

    restore = commands.add_parser("restauration", help="restaure une sauvegarde dans un dossier vide")
    restore.add_argument("archive", type=Path, help="fichier esante-sauvegarde-….tar.gz")
    restore.add_argument("--vers", dest="target", type=Path, required=True, help="dossier vide (créé au besoin)")
    restore.add_argument(
        "--instance-pg",
        dest="instance_pg",
        help="base PostgreSQL vide où restaurer l'instance (URL postgresql://…) si elle était sur PostgreSQL",
    )
    restore.set_defaults(run=command_restore)


# --- backup -----------------------------------------------------------------------------------


class Archive:
    """A tar.gz being written, with the sha256 of each file for the manifest."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.files: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.skipped: list[str] = []  # French: what was not archived, and why

    def add_file(self, path: Path, name: str) -> None:
        """A regular file, opened without following links (a steward's folder is untrusted)."""
        digest = hashlib.sha256()
        with open_regular(path) as handle:
            for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(chunk)
            size = handle.tell()
            handle.seek(0)
            status = os.fstat(handle.fileno())
            info = tarfile.TarInfo(name)
            # its permissions kept: the portal's accounts stay private once restored
            info.size, info.mtime, info.mode = size, int(status.st_mtime), stat.S_IMODE(status.st_mode)
            self.tar.addfile(info, handle)
        self.files[name], self.sizes[name] = digest.hexdigest(), size

    def add_link(self, path: Path, name: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
        info.mtime = int(path.lstat().st_mtime)
        self.tar.addfile(info)

    def add_bytes(self, data: bytes, name: str) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def add_tree(self, folder: Path, prefix: str, *, links: bool = False, skip=lambda _: False) -> None:
        """Every regular file under `folder` (symbolic links kept as links when `links`, else skipped and
        said; anything else skipped and said)."""
        for root, folders, names in os.walk(folder):
            here = Path(root)
            folders[:] = sorted(f for f in folders if not skip(here / f) and kind_of(here / f) == "dossier")
            for name in sorted(names):
                path = here / name
                if skip(path):
                    continue
                target = f"{prefix}/{path.relative_to(folder).as_posix()}"
                kind = kind_of(path)
                if kind == "fichier":
                    self.add_file(path, target)
                elif kind == "lien symbolique" and links and not os.path.isabs(os.readlink(path)):
                    self.add_link(path, target)
                else:
                    self.skipped.append(f"{path} : {kind}, non sauvegardé (seuls les fichiers ordinaires le sont)")


def command_backup(args, settings: Settings) -> int:
    from pipelines.cli import EXIT_OK, EXIT_REJECTED

    try:
        archive = backup(settings, args.out)
    except BackupError as error:
        print(str(error), file=sys.stderr)
        return EXIT_REJECTED
    print(f"Sauvegarde écrite : {archive}")
    return EXIT_OK


class BackupError(RuntimeError):
    """French, one message the operator reads."""


def backup(settings: Settings, out: Path, now: dt.datetime | None = None) -> Path:
    """Write the archive into `out`; its path."""
    if kind_of(settings.raw_dir) != "dossier":
        raise BackupError(f"Dossier des dépôts introuvable : {settings.raw_dir} (rien n'est sauvegardé).")
    out.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    final = out / f"esante-sauvegarde-{stamp}.tar.gz"
    partial = out / f".{final.name}.partiel"
    # the portal's accounts are in it: private to its owner from the first byte
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw_output, tarfile.open(fileobj=raw_output, mode="w:gz") as tar:
            archive = Archive(tar)
            archive.add_tree(settings.raw_dir, "raw")
            instance = _backup_instance(archive, settings)
            warehouse = _backup_warehouse(archive, settings)
            if kind_of(settings.portal_dir) == "dossier":
                archive.add_tree(settings.portal_dir, "portail")
            manifest = {
                "format": FORMAT,
                "created": (now or dt.datetime.now()).isoformat(timespec="seconds"),
                "host": socket.gethostname(),
                "instance": instance,
                "warehouse_name": settings.warehouse_path.name,
                "published_version": warehouse,
                "territory": settings.territory_code,
                "files": archive.files,
                "skipped": archive.skipped,
            }
            archive.add_bytes(json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), MANIFEST)
            raw_output.flush()
            os.fsync(raw_output.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    for line in archive.skipped:
        print(f"  ! {line}", file=sys.stderr)
    sizes = archive.sizes
    raw_files = [n for n in sizes if n.startswith("raw/")]
    print(
        f"  raw/ : {len(raw_files)} fichier(s) ; instance : {'PostgreSQL (pg_dump)' if instance == 'postgresql' else 'SQLite'} ; "
        f"entrepôt : {'version ' + warehouse if warehouse else 'jamais publié'} ; "
        f"{_french_size(final.stat().st_size)} compressés"
    )
    return final


def _backup_instance(archive: Archive, settings: Settings) -> str:
    home = settings.dagster_home
    if kind_of(home / "dagster.yaml") == "fichier":
        archive.add_file(home / "dagster.yaml", "instance/dagster.yaml")
    if settings.dagster_pg_url:
        with tempfile.TemporaryDirectory(prefix="esante-sauvegarde-") as scratch:
            dump = Path(scratch) / "dagster.pgdump"
            _pg_tool("pg_dump", settings.dagster_pg_url, ["--format=custom", "--no-owner", f"--file={dump}"])
            archive.add_file(dump, PG_DUMP)
        return "postgresql"
    storage = home / ".dagster"
    if kind_of(storage) != "dossier":
        return "sqlite"
    with tempfile.TemporaryDirectory(prefix="esante-sauvegarde-") as scratch:
        for root, folders, names in os.walk(storage):
            here = Path(root)
            folders[:] = sorted(f for f in folders if f not in SKIPPED_INSTANCE_FOLDERS)
            for name in sorted(names):
                path = here / name
                target = f"instance/.dagster/{path.relative_to(storage).as_posix()}"
                if name.endswith(("-wal", "-shm", "-journal")) or kind_of(path) != "fichier":
                    continue  # SQLite's journals: their content is in the online copy
                if name.endswith(SQLITE_SUFFIXES):
                    copy = Path(scratch) / "copie.db"
                    _sqlite_copy(path, copy)
                    archive.add_file(copy, target)
                    copy.unlink()
                else:
                    archive.add_file(path, target)
    return "sqlite"


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while the daemon keeps writing."""
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)) as reading,
        closing(sqlite3.connect(target)) as writing,
    ):
        reading.backup(writing)


def _backup_warehouse(archive: Archive, settings: Settings) -> str | None:
    """The warehouse's folder, under the writer lock; the name of the published version."""
    folder = settings.warehouse_path.parent
    if kind_of(folder) != "dossier":
        return None
    from filelock import FileLock, Timeout

    lock = None
    if kind_of(settings.build_dir) == "dossier":
        lock = FileLock(settings.build_dir / WRITER_LOCK)
        started = time.monotonic()
        while True:
            try:
                lock.acquire(timeout=WAIT_REPORT_SECONDS)
                break
            except Timeout:
                print(
                    f"En attente de l'entrepôt : une exécution l'écrit (depuis {time.monotonic() - started:.0f} s).",
                    file=sys.stderr,
                )
    try:
        skip = _skip_in_warehouse(settings)
        archive.add_tree(folder, "warehouse", links=True, skip=skip)
    finally:
        if lock is not None:
            lock.release()
    link = settings.warehouse_path
    if kind_of(link) == "lien symbolique":
        return os.readlink(link)
    return link.name if kind_of(link) == "fichier" else None


def _skip_in_warehouse(settings: Settings):
    lock = settings.build_dir / WRITER_LOCK

    def skip(path: Path) -> bool:
        # the lock itself, and temporary files of a copy in progress elsewhere (.<name>.<pid>.<x>.tmp)
        return path == lock or (path.name.startswith(".") and path.name.endswith(".tmp"))

    return skip


# --- restore ----------------------------------------------------------------------------------


class RestoreError(RuntimeError):
    """French, one message the operator reads; `usage`: the command was asked wrongly (not a bad archive)."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage


def command_restore(args, settings: Settings) -> int:
    from pipelines.cli import EXIT_OK, EXIT_REJECTED, EXIT_USAGE

    try:
        lines = restore(args.archive, args.target, args.instance_pg)
    except RestoreError as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE if error.usage else EXIT_REJECTED
    print("\n".join(lines))
    return EXIT_OK


def restore(archive_path: Path, target: Path, instance_pg: str | None = None) -> list[str]:
    """Extract into an empty `target`, check every file against the manifest, restore a PostgreSQL
    instance into `instance_pg` when given; French lines saying what was done and how to use it."""
    if kind_of(archive_path) != "fichier":
        raise RestoreError(f"Archive introuvable : {archive_path}", usage=True)
    if target.exists() and (kind_of(target) != "dossier" or any(target.iterdir())):
        raise RestoreError(
            f"Le dossier {target} n'est pas vide : une restauration se fait dans un dossier vide (jamais par-dessus "
            "une installation en service). Choisissez un autre dossier.",
            usage=True,
        )
    target.mkdir(parents=True, exist_ok=True)
    target = Path(os.path.abspath(target))
    try:
        with tarfile.open(archive_path, mode="r:gz") as tar:
            manifest_member = tar.getmember(MANIFEST)
            manifest = json.loads(tar.extractfile(manifest_member).read().decode("utf-8"))
            # the "data" filter refuses absolute names, names out of the folder, devices and links out of it
            tar.extractall(target, filter="data")
    except (tarfile.TarError, KeyError, OSError, ValueError) as error:
        raise RestoreError(f"Archive illisible ou incomplète : {archive_path} ({error}).") from None
    (target / MANIFEST).unlink(missing_ok=True)
    if manifest.get("format") != FORMAT:
        raise RestoreError(f"Format de sauvegarde inconnu ({manifest.get('format')}) : {archive_path}")
    damaged = []
    for name, expected in manifest["files"].items():
        path = target / name
        if kind_of(path) != "fichier" or _sha256(path) != expected:
            damaged.append(name)
    if damaged:
        raise RestoreError(
            f"La sauvegarde {archive_path.name} est altérée : {len(damaged)} fichier(s) ne correspondent pas à son "
            f"inventaire ({', '.join(damaged[:5])}{'…' if len(damaged) > 5 else ''}). Prenez une autre sauvegarde."
        )
    for folder in ("raw", "instance", "warehouse", "portail"):
        (target / folder).mkdir(exist_ok=True)
    created = dt.datetime.fromisoformat(manifest["created"])
    lines = [f"Sauvegarde du {created:%d/%m/%Y à %H:%M} ({manifest['host']}) restaurée dans {target} :"]
    lines.append(f"  raw/ : {sum(1 for n in manifest['files'] if n.startswith('raw/'))} fichier(s)")
    version = manifest.get("published_version")
    lines.append(
        f"  entrepôt : {'version publiée ' + version if version else 'jamais publié (esante run le construit)'}"
    )
    environment = {
        "ESANTE_RAW_DIR": target / "raw",
        "ESANTE_WAREHOUSE": target / "warehouse" / manifest.get("warehouse_name", "esante.duckdb"),
        "DAGSTER_HOME": target / "instance",
        "ESANTE_PORTAIL_DIR": target / "portail",
        "ESANTE_TERRITOIRE": manifest.get("territory", "72"),
    }
    if manifest["instance"] == "postgresql":
        dump = target / PG_DUMP
        if instance_pg:
            _pg_tool("pg_restore", instance_pg, ["--no-owner", "--exit-on-error", "--single-transaction", str(dump)])
            dump.unlink()
            lines.append(
                "  instance Dagster : restaurée dans la base PostgreSQL donnée (exécutions, curseurs, horaires)"
            )
            environment["ESANTE_DAGSTER_PG_URL"] = _without_password(instance_pg) + " (avec son mot de passe)"
        else:
            lines.append(
                f"  instance Dagster (PostgreSQL) : non restaurée, la copie est dans {dump}. Dans une base vide : "
                f"esante restauration … --instance-pg postgresql://…, ou pg_restore --no-owner -d <URL> {dump}"
            )
    else:
        lines.append("  instance Dagster : SQLite (exécutions, curseurs, horaires)")
    lines.append("Pour l'utiliser (services : /etc/esante/esante.env), avec ces réglages :")
    lines += [f"  {name}={value}" for name, value in environment.items()]
    lines.append("Tout se reconstruit depuis raw/ seul si besoin : esante run.")
    return lines


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- PostgreSQL's tools -----------------------------------------------------------------------


def _pg_binary(name: str) -> str:
    """`name` on PATH, else the newest of Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not versions:
        raise BackupError(
            f"{name} est introuvable : installez le client PostgreSQL (apt-get install postgresql-client)."
        )
    return versions[-1]


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _pg_tool(name: str, url: str, arguments: list[str]) -> None:
    """pg_dump or pg_restore on the database of `url`; the password through the environment (never on
    the command line, which other users of the machine can read)."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.startswith("postgres"):  # postgresql+psycopg2:// is SQLAlchemy's, not libpq's
        url = f"postgresql://{rest}"
    environment = dict(os.environ)
    password = urlsplit(url).password
    if password is not None:
        environment["PGPASSWORD"] = unquote(password)
    completed = subprocess.run(
        [_pg_binary(name), f"--dbname={_without_password(url)}", *arguments],
        env=environment,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        error = (completed.stderr or completed.stdout).strip().splitlines()
        raise (BackupError if name == "pg_dump" else RestoreError)(
            f"{name} a échoué sur {_without_password(url)} : {error[-1] if error else completed.returncode}"
        )


def _french_size(size: int) -> str:
    for unit, factor in (("Go", 1024**3), ("Mo", 1024**2), ("ko", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} octets"
