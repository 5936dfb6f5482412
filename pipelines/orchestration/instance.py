"""Where the Dagster instance keeps runs, event logs, schedules and sensor cursors: one setting decides.

dagster.yaml names `EsanteStorage` as its storage (`storage: custom:`). Every process that reads
the instance (the webserver, the daemon, each run worker, `esante run`, the portal, `dagster
instance migrate`) builds it from DAGSTER_HOME/dagster.yaml and its own environment, so they all
agree as long as they share the environment that `prepare_dagster_home` gives them:
- `ESANTE_DAGSTER_PG_URL` set (`postgresql://user:password@host:port/database`): PostgreSQL, through
  dagster-postgres (an agency's production: the webserver, the daemon and the portal for months);
- unset: SQLite files in `$DAGSTER_STORAGE_DIR` (`.dagster/` of the project; nothing to install).

The URL is read from the environment when the storage is built, never written into dagster.yaml
nor into what Dagster serialises for its run workers (they read the same variable): the password
stays in one place, the service's environment file.

    python -m pipelines.orchestration.instance     prepares DAGSTER_HOME and says which storage is used
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from dagster import Field, StringSource
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log import EventLogStorage
from dagster._core.storage.runs import RunStorage
from dagster._core.storage.schedules import ScheduleStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClass, ConfigurableClassData

PG_URL_VARIABLE = "ESANTE_DAGSTER_PG_URL"  # Settings.dagster_pg_url reads the same variable


def sqlalchemy_url(postgres_url: str) -> str:
    """The driver made explicit: SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg (3), which is not
    installed; dagster-postgres brings psycopg2. The setting stays a plain libpq URL (pg_dump reads it)."""
    scheme, separator, rest = postgres_url.partition("://")
    if separator and scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg2://{rest}"
    return postgres_url


def libpq_url(postgres_url: str) -> str:
    """The same URL for libpq's tools (pg_dump, pg_restore, psql): no SQLAlchemy driver name."""
    scheme, separator, rest = postgres_url.partition("://")
    return f"postgresql://{rest}" if separator and scheme.startswith("postgres") else postgres_url


def build_storage(base_dir: str, postgres_url: str | None, inst_data: ConfigurableClassData | None) -> DagsterStorage:
    """Dagster's own storage classes; `inst_data` (this class's entry of dagster.yaml) goes with them,
    so that a run worker given the instance rebuilds it here, from its own environment."""
    if postgres_url:
        from dagster_postgres import DagsterPostgresStorage

        return DagsterPostgresStorage(sqlalchemy_url(postgres_url), should_autocreate_tables=True, inst_data=inst_data)
    return DagsterSqliteStorage.from_local(base_dir, inst_data=inst_data)


class EsanteStorage(DagsterStorage, ConfigurableClass):
    """The storage named in dagster.yaml. Dagster only ever holds what `from_config_value` returns
    (DagsterPostgresStorage or DagsterSqliteStorage): this class is the choice, not a wrapper."""

    @classmethod
    def config_type(cls):
        # base_dir: the SQLite files (unused on PostgreSQL; compute logs and artifacts stay there anyway)
        return {"base_dir": Field(StringSource)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value) -> DagsterStorage:  # type: ignore[override]
        return build_storage(config_value["base_dir"], os.environ.get(PG_URL_VARIABLE) or None, inst_data)

    # Never instantiated (from_config_value returns Dagster's classes); the abstract API says so.
    @property
    def inst_data(self) -> ConfigurableClassData | None:  # pragma: no cover
        raise NotImplementedError

    @property
    def event_log_storage(self) -> EventLogStorage:  # pragma: no cover
        raise NotImplementedError

    @property
    def run_storage(self) -> RunStorage:  # pragma: no cover
        raise NotImplementedError

    @property
    def schedule_storage(self) -> ScheduleStorage:  # pragma: no cover
        raise NotImplementedError


def describe(postgres_url: str | None, base_dir: str) -> str:
    """French, for operators: where the instance is (the password never shown)."""
    if not postgres_url:
        return f"Instance Dagster : SQLite, dans {base_dir}"
    parts = urlsplit(postgres_url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"Instance Dagster : PostgreSQL, base {parts.path.lstrip('/') or '?'} sur {user}{host}{port}"


def main() -> int:
    """Prepare DAGSTER_HOME as `esante run` does (the services' ExecStartPre), and say which storage."""
    from pipelines.foundation.settings import load_settings, prepare_dagster_home

    settings = load_settings()
    environment = prepare_dagster_home(settings)
    print(f"DAGSTER_HOME : {settings.dagster_home}")
    print(describe(settings.dagster_pg_url, environment["DAGSTER_STORAGE_DIR"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
