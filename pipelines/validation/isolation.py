"""Validating an upload within bounds: in a child process, so that no file can take the caller down.

A malformed file can make a parser allocate without end or panic inside native code; under a
memory limit that ends the process (SIGABRT), not with a Python exception. So the file is read in
a child process (forked from a server that has the parsing code loaded, so a verdict does not pay
the start-up cost), watched: its resident memory is read every few hundredths of a second and it is
killed past the budget, and it has a time budget (CPU and wall clock). An address-space limit is not
used: polars, DuckDB and glibc reserve address space by the gigabyte per thread, so such a limit
kills healthy reads on a machine with many cores. The server starts with few malloc arenas and
threads for the same reason. Whatever the child does, the caller gets a verdict: the child's own, or
a French rejection saying which bound was hit and what to do. The child writes its verdict to the
ledger (and the rejection report beside the upload), and the caller reads it there.

As with any `multiprocessing` start method other than fork, a script that validates uploads must
guard its entry point (`if __name__ == "__main__":`): the fork server imports the main module again.
The project's own entry points (`esante`, Dagster's processes, pytest) do.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import time
from dataclasses import dataclass
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


# The fork server's environment, read by glibc and polars when it starts: few malloc arenas (each
# thread otherwise reserves 64 MiB of address space) and a bounded polars thread pool.
SERVER_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2", "POLARS_MAX_THREADS": "2"}
WATCH_SECONDS = 0.05


@cache
def _context() -> multiprocessing.context.BaseContext:
    """A fork server with the parsing code loaded: a child is a cheap fork of it, and never a fork of
    a caller whose native thread pools are running (polars and DuckDB do not survive that)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    saved = {name: os.environ.get(name) for name in SERVER_ENVIRONMENT}
    os.environ.update(SERVER_ENVIRONMENT)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return context


def warm_up() -> None:
    """Start the fork server now (a long-lived process such as the portal): it loads the parsing code once,
    and the first verdict does not wait for it."""
    process = _context().Process(target=time.sleep, args=(0,), daemon=True)
    process.start()
    process.join()


def validate_upload(
    path: Path,
    unit: SourceUnit,
    reference: ReferenceData,
    settings: Settings,
    sha256: str | None = None,
    *,
    isolated: bool = True,
    ledger_root: Path | None = None,
    write_reports: bool = True,
) -> ParsedUpload:
    """The upload validated once for its content: from the ledger if it was validated before under the
    same rules, else now (in a bounded child process) and recorded, with its rejection report.
    `ledger_root` and `write_reports=False` let a caller validate without writing anything of the
    project's (`esante validate`: a temporary ledger, no report)."""
    ledger = Ledger(settings, ledger_root)
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
        job = Validation(path, unit.source_id, sha256, fingerprint, ledger.root, write_reports)
        if isolated:
            outcome = _run_child(job, settings)
        else:
            job.run(settings, reference)
            outcome = None
        known = ledger.upload(unit, path, sha256, fingerprint)
        if known is not None:
            return known
        return _record_failure(job, unit, settings, outcome or "erreur inconnue")


@dataclass(frozen=True)
class Validation:
    """One validation to run (in this process or in the child): which file, and where its verdict goes."""

    path: Path
    source_id: str
    sha256: str
    fingerprint: str
    ledger_root: Path
    write_reports: bool

    def run(self, settings: Settings, reference: ReferenceData | None = None) -> None:
        unit = unit_by_id(self.source_id)
        reference = reference or reference_data(settings.reference_dir, settings.territory_code)
        upload = parse_upload(self.path, unit, reference, settings.limits, sha256=self.sha256)
        if not upload.accepted and self.write_reports:
            write_rejection_report(upload, settings.limits)
        Ledger(settings, self.ledger_root).record(upload, self.fingerprint, upload.sheet_cells)


def _child(job: Validation, environment: dict[str, str]) -> None:
    """In the child: bounds first, then the same validation as in process."""
    settings = Settings.from_environment(environment)
    limits = settings.limits
    resource.setrlimit(resource.RLIMIT_CPU, (limits.parse_seconds, limits.parse_seconds + 5))
    job.run(settings)


def _run_child(job: Validation, settings: Settings) -> str | None:
    """Run the child; None when it ended normally, else what stopped it (French)."""
    environment = {**settings.as_environment(), **{k: v for k, v in os.environ.items() if k == "ESANTE_UNIT_DIRS"}}
    child = _context().Process(target=_child, args=(job, environment), daemon=True)
    child.start()
    limits = settings.limits
    deadline = time.monotonic() + limits.parse_seconds + 10
    too_big = False
    while child.is_alive():
        if time.monotonic() > deadline:
            child.kill()
            child.join()
            return f"le temps imparti ({limits.parse_seconds} s) a été dépassé"
        if resident_bytes(child.pid) > limits.parse_memory_bytes:
            child.kill()
            too_big = True
        child.join(WATCH_SECONDS)
    code = child.exitcode
    memory = format_bytes(limits.parse_memory_bytes)
    if too_big:
        return f"la lecture a dépassé la mémoire impartie ({memory})"
    if code == 0:
        return None
    if code in (-signal.SIGKILL, -signal.SIGXCPU):
        return f"le temps de calcul imparti ({limits.parse_seconds} s) a été dépassé"
    if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, 1):
        return f"la lecture a dépassé la mémoire impartie ({memory}) ou le fichier a fait échouer le lecteur"
    return f"la lecture s'est arrêtée anormalement (code {code})"


def format_bytes(count: int) -> str:
    return f"{count / 1024**3:.1f} Go".replace(".", ",") if count >= 1024**3 else f"{count / 1024**2:.0f} Mo"


def resident_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0


def _record_failure(job: Validation, unit: SourceUnit, settings: Settings, why: str) -> ParsedUpload:
    stat = job.path.lstat()
    upload = ParsedUpload(
        path=job.path,
        unit=unit,
        sha256=job.sha256,
        size=stat.st_size,
        modified_at=dt.datetime.fromtimestamp(stat.st_mtime),
        problems=[
            Problem(
                f"Le fichier n'a pas pu être analysé dans les limites fixées : {why}. Il contient sans doute autre "
                "chose qu'un tableau de données (texte aléatoire, feuille démesurée, contenu corrompu).",
                "Ouvrez-le dans Excel ou LibreOffice, vérifiez qu'il ne contient que le tableau attendu, "
                "enregistrez-le à nouveau (.xlsx ou .csv UTF-8) et déposez-le ; s'il est vraiment aussi gros, "
                "découpez-le en plusieurs fichiers.",
                file=job.path.name,
                check="limites",
                kind="structure",
            )
        ],
    )
    if job.write_reports:
        write_rejection_report(upload, settings.limits)
    Ledger(settings, job.ledger_root).record(upload, job.fingerprint)
    return upload
