"""The Dagster resources: the project's settings, and the warehouse writer.

`ProjectResource` wraps the one settings object (it carries only the variables that override the
environment, which is how tests and benchmarks point a code location at temporary folders).
`WarehouseResource` is the only way a run writes the working database: it holds the writer lock
for the whole run (one writer at a time, the daemon's runs and `esante run` alike), says for whom a
run waits, and tags the run with its process so that a run that dies can be failed and its place
freed (pipelines/orchestration/recovery.py). The lock is a kernel file lock: it is released when
the process holding it dies, however it dies.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import ConfigurableResource, Failure, InitResourceContext
from filelock import FileLock, Timeout
from pydantic import PrivateAttr

from pipelines.contract.discovery import discover_units, reference_data
from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import write_atomically
from pipelines.foundation.settings import Settings
from pipelines.orchestration.keys import HOST_TAG, PID_TAG
from pipelines.reference.tables import ReferenceData
from pipelines.warehouse.database import working_connection
from pipelines.warehouse.publication import DiskFull, ensure_free_space, is_disk_full

WAIT_REPORT_SECONDS = 15
WAITING = logging.getLogger("esante.attente")


class ProjectResource(ConfigurableResource):
    """Where the raw uploads, the reference data and the warehouse live (pipelines/foundation/settings.py)."""

    environment: dict[str, str] = {}  # noqa: RUF012 - a Dagster config field (copied per instance), not a class value

    @classmethod
    def from_settings(cls, settings: Settings) -> ProjectResource:
        return cls(environment=settings.as_environment())

    def settings(self) -> Settings:
        return Settings.from_environment({**os.environ, **self.environment})

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Tag the run with its process and host: if the process dies, recovery.py fails the run."""
        run = context.run
        if run is not None and context.instance is not None and PID_TAG not in run.tags:
            context.instance.add_run_tags(run.run_id, {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()})

    def reference(self) -> ReferenceData:
        settings = self.settings()
        return reference_data(settings.reference_dir, settings.territory_code)

    def units(self) -> list[SourceUnit]:
        return discover_units()


class WarehouseResource(ConfigurableResource):
    """The working database, written by one run at a time."""

    project: ProjectResource
    _lock: FileLock | None = PrivateAttr(default=None)
    _disk_full: str | None = PrivateAttr(default=None)  # once the disk is full, every step says so, alike

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[WarehouseResource]:
        settings = self.project.settings()
        settings.build_dir.mkdir(parents=True, exist_ok=True)
        run = context.run
        lock = FileLock(settings.build_dir / "writer.lock")
        holder_file = settings.build_dir / "writer.json"
        while True:
            try:
                lock.acquire(timeout=WAIT_REPORT_SECONDS)
                break
            except Timeout:
                message = waiting_message(holder_file)
                context.log.info(message)
                WAITING.warning(message)  # `esante run` shows it on its terminal
        try:
            write_atomically(
                holder_file,
                json.dumps(
                    {
                        "run_id": run.run_id if run else None,
                        "job": run.job_name if run else None,
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "since": dt.datetime.now().isoformat(timespec="seconds"),
                    }
                ),
            )
            self._lock = lock
            self._disk_full = None
            self.check_room(settings)
            yield self
        finally:
            self._lock = None
            lock.release()

    def check_room(self, settings: Settings) -> None:
        """Before building: room for the working database to grow to the size of what it will hold."""
        working = settings.working_database
        needed = max(working.stat().st_size if working.exists() else 0, folder_size(settings.raw_dir))
        try:
            ensure_free_space(settings.build_dir, needed, "la construction de l'entrepôt", settings)
        except DiskFull as full:
            self._disk_full = str(full)
            raise Failure(description=str(full), allow_retries=False) from None

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the working database, its schema current. A full disk becomes one
        French line (and every later step of the run fails with the same line, not with a cascade of
        DuckDB errors about a database it could no longer write)."""
        settings = self.project.settings()
        if self._disk_full:
            raise Failure(description=self._disk_full, allow_retries=False)
        try:
            with working_connection(settings, self.project.units()) as connection:
                yield connection
        except Exception as error:
            if not is_disk_full(error):
                raise
            self._disk_full = (
                f"Disque plein ({settings.build_dir}) : la base de travail n'a pas pu être écrite. Libérez de la "
                "place sur ce disque puis relancez ; l'entrepôt publié reste celui d'avant."
            )
            raise Failure(description=self._disk_full, allow_retries=False) from None


def folder_size(folder) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def waiting_message(holder_file) -> str:
    """French: for whom a run waits."""
    try:
        holder = json.loads(holder_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "En attente de l'entrepôt : une autre exécution l'écrit."
    job = holder.get("job") or "esante run"
    run = (holder.get("run_id") or "")[:8]
    return (
        f"En attente de l'entrepôt : il est en cours d'écriture par l'exécution {run} ({job}, processus "
        f"{holder.get('pid')} sur {holder.get('host')}) depuis {holder.get('since', '?')[11:]}."
    )
