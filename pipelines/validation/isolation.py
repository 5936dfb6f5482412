"""Validating an upload within bounds: in a child process, so that no file can take the caller down.

A malformed file can make a parser allocate without end or panic inside native code; under a
memory limit that ends the process (SIGABRT), not with a Python exception. So the file is read in
a child process (forked from a server that has the parsing code loaded, so a verdict does not pay
the start-up cost), with a memory ceiling and a time budget. Whatever the child does, the caller
gets a verdict: the child's own, or a French rejection saying which bound was hit and what to do.
The child writes its verdict to the ledger (and the rejection report beside the upload), and the
caller reads it there.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import resource
import signal
from functools import cache
from pathlib import Path

from filelock import FileLock

from pipelines.contract.discovery import reference_data, unit_by_id
from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.problems import Problem
from pipelines.foundation.settings import Settings
from pipelines.reference.tables import ReferenceData
from pipelines.validation.ledger import Ledger, rules_fingerprint
from pipelines.validation.parse import ParsedUpload, parse_upload
from pipelines.validation.reports import write_rejection_report

PRELOADED = [
    "pipelines.validation.isolation",
    "pipelines.validation.preload",
    "pandera.polars",
    "fastexcel",
    "openpyxl",
]


@cache
def _context() -> multiprocessing.context.BaseContext:
    """A fork server with the parsing code loaded: a child is a cheap fork of it, and never a fork of
    a caller whose native thread pools are running (polars and DuckDB do not survive that)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def validate_upload(
    path: Path,
    unit: SourceUnit,
    reference: ReferenceData,
    settings: Settings,
    sha256: str | None = None,
    *,
    isolated: bool = True,
) -> ParsedUpload:
    """The upload validated once for its content: from the ledger if it was validated before under the
    same rules, else now (in a bounded child process) and recorded, with its rejection report."""
    ledger = Ledger(settings)
    sha256 = sha256 or file_sha256(path)
    fingerprint = rules_fingerprint(unit, reference, settings)
    known = ledger.upload(unit, path, sha256, fingerprint)
    if known is not None:
        return known
    lock_path = ledger.root / unit.source_id / f"{sha256}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_path):  # two runs validating the same content: one parses, the other reads
        known = ledger.upload(unit, path, sha256, fingerprint)
        if known is not None:
            return known
        if isolated:
            outcome = _run_child(path, unit, settings, sha256, fingerprint)
        else:
            _validate_and_record(path, unit, reference, settings, sha256, fingerprint)
            outcome = None
        known = ledger.upload(unit, path, sha256, fingerprint)
        if known is not None:
            return known
        return _record_failure(path, unit, settings, sha256, fingerprint, outcome or "erreur inconnue")


def _validate_and_record(
    path: Path, unit: SourceUnit, reference: ReferenceData, settings: Settings, sha256: str, fingerprint: str
) -> None:
    upload = parse_upload(path, unit, reference, settings.limits, sha256=sha256)
    if not upload.accepted:
        write_rejection_report(upload, settings.limits)
    Ledger(settings).record(upload, fingerprint, upload.sheet_cells)


def _child(path: str, source_id: str, environment: dict[str, str], sha256: str, fingerprint: str) -> None:
    """In the child: bounds first, then the same validation as in process."""
    settings = Settings.from_environment(environment)
    limits = settings.limits
    if limits.parse_memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (limits.parse_memory_bytes, limits.parse_memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.parse_seconds, limits.parse_seconds + 5))
    unit = unit_by_id(source_id)
    reference = reference_data(settings.reference_dir, settings.territory_code)
    _validate_and_record(Path(path), unit, reference, settings, sha256, fingerprint)


def _run_child(path: Path, unit: SourceUnit, settings: Settings, sha256: str, fingerprint: str) -> str | None:
    """Run the child; None when it ended normally, else what stopped it (French)."""
    environment = {**settings.as_environment(), **{k: v for k, v in os.environ.items() if k == "ESANTE_UNIT_DIRS"}}
    child = _context().Process(
        target=_child, args=(str(path), unit.source_id, environment, sha256, fingerprint), daemon=True
    )
    child.start()
    child.join(settings.limits.parse_seconds + 10)
    if child.is_alive():
        child.kill()
        child.join()
        return f"le temps imparti ({settings.limits.parse_seconds} s) a été dépassé"
    code = child.exitcode
    if code == 0:
        return None
    if code in (-signal.SIGKILL, -signal.SIGXCPU):
        return f"le temps de calcul imparti ({settings.limits.parse_seconds} s) a été dépassé"
    memory = f"{settings.limits.parse_memory_bytes / 1024**3:.0f} Go"
    if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, 1):
        return f"la lecture a dépassé la mémoire impartie ({memory}) ou le fichier a fait échouer le lecteur"
    return f"la lecture s'est arrêtée anormalement (code {code})"


def _record_failure(
    path: Path, unit: SourceUnit, settings: Settings, sha256: str, fingerprint: str, why: str
) -> ParsedUpload:
    stat = path.lstat()
    upload = ParsedUpload(
        path=path,
        unit=unit,
        sha256=sha256,
        size=stat.st_size,
        modified_at=dt.datetime.fromtimestamp(stat.st_mtime),
        problems=[
            Problem(
                f"Le fichier n'a pas pu être analysé dans les limites fixées : {why}. Il contient sans doute autre "
                "chose qu'un tableau de données (texte aléatoire, feuille démesurée, contenu corrompu).",
                "Ouvrez-le dans Excel ou LibreOffice, vérifiez qu'il ne contient que le tableau attendu, "
                "enregistrez-le à nouveau (.xlsx ou .csv UTF-8) et déposez-le ; s'il est vraiment aussi gros, "
                "découpez-le en plusieurs fichiers.",
                file=path.name,
                check="limites",
                kind="structure",
            )
        ],
    )
    write_rejection_report(upload, settings.limits)
    Ledger(settings).record(upload, fingerprint)
    return upload
