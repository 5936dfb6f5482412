"""A real PostgreSQL server for the tests and the benchmarks, from Debian's `postgresql` package.

It lives in a temporary data folder, listens on 127.0.0.1 on a free port (no Unix socket outside
its folder), asks for a password (as a real server does), and is stopped and removed afterwards.
`initdb` refuses to run as root: as root, the server runs as the `postgres` user (runuser), in a
folder it owns; as anyone else, as that user.

    with TemporaryPostgres() as server:
        url = server.create_database("dagster")   # postgresql://esante:…@127.0.0.1:PORT/dagster
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "esante"
SERVER_ACCOUNT = "postgres"  # Debian's package creates it; initdb refuses root


def postgres_bin() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb."""
    found = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL n'est pas installé (aucun /usr/lib/postgresql/*/bin/initdb) : "
            "apt-get install postgresql (.ci/run le fait en CI)."
        )
    return found[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TemporaryPostgres:
    """`durable=False` turns off fsync (tests: speed); the benchmark keeps a real server's settings."""

    def __init__(self, durable: bool = True):
        self.durable = durable
        self.bin = postgres_bin()
        self.password = secrets.token_hex(12)
        self.port = 0
        self.folder: Path | None = None

    # --- the server's account ---------------------------------------------------------------

    def _as_server(self) -> list[str]:
        return ["runuser", "-u", SERVER_ACCOUNT, "--"] if os.geteuid() == 0 else []

    def _give_to_server(self, path: Path) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_ACCOUNT)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _run(self, *command: str) -> None:
        completed = subprocess.run(
            [*self._as_server(), *command], capture_output=True, text=True, timeout=120, cwd=self.folder
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{command[0]} a échoué ({completed.returncode}) : {completed.stderr[-2000:]}")

    # --- life -------------------------------------------------------------------------------

    def start(self) -> TemporaryPostgres:
        # directly under /tmp: the server's account must reach it (pytest's tmp_path is root's, 0700)
        self.folder = Path(tempfile.mkdtemp(prefix="esante-pg-"))
        self.folder.chmod(0o700)
        self._give_to_server(self.folder)
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        self._give_to_server(password_file)
        data = self.folder / "data"
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        password_file.unlink()
        self.port = free_port()
        options = [
            "-h 127.0.0.1",
            f"-p {self.port}",
            f"-k {self.folder}",  # the Unix socket stays in the temporary folder
            "-c max_connections=200",  # the webserver, the daemon, code servers and run workers each hold a pool
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            " ".join(options),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*self._as_server(), str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                cwd=self.folder,
            )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *_) -> None:
        self.stop()

    # --- use --------------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg2

        connection = psycopg2.connect(self.url())
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def log(self) -> str:
        try:
            return (self.folder / "server.log").read_text(errors="replace")[-3000:] if self.folder else ""
        except OSError:
            return ""
