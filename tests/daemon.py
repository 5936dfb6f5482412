"""The real daemon for the end-to-end tests: `esante ui` (`dg dev`, as `make ui`) on a temporary instance
and folder."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
from dagster import DagsterInstance


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Daemon:
    """`esante ui` (webserver and daemon) on a temporary instance and folder, as operators run it."""

    def __init__(self, settings, home: Path, log: Path):
        home.mkdir(exist_ok=True)
        shutil.copy(Path(__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
        self.env = {
            # nothing of the caller's environment points elsewhere (a PostgreSQL URL, another home)
            **{k: v for k, v in os.environ.items() if not k.startswith(("ESANTE_", "DAGSTER_"))},
            **settings.as_environment(),
            "DAGSTER_HOME": str(home),
            "DAGSTER_STORAGE_DIR": str(home / ".dagster"),
            "DAGSTER_COMPUTE_LOGS_DIR": str(home / ".dagster" / "logs"),
            "DAGSTER_DISABLE_TELEMETRY": "1",
        }
        self.home, self.log = home, log
        # the instance's storage is created once, before any process uses it: two processes creating a
        # fresh SQLite storage at once can both stamp its schema (alembic then sees two heads)
        subprocess.run(
            [sys.executable, "-c", "from dagster import DagsterInstance; DagsterInstance.get().dispose()"],
            env=self.env,
            check=True,
            timeout=300,
        )

    def start(self) -> Daemon:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "esante"), "ui", "--port", str(free_port())],
                env=self.env,
                cwd=self.home,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        return self

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def instance(self) -> DagsterInstance:
        os.environ.update({k: self.env[k] for k in ("DAGSTER_HOME", "DAGSTER_STORAGE_DIR", "DAGSTER_COMPUTE_LOGS_DIR")})
        return DagsterInstance.get()


def read(warehouse: Path, query: str):
    if not warehouse.exists():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(query).fetchall()
