"""The working database: the private DuckDB file that runs write to, its schema and its versions.

Runs write only to `warehouse/.build/working.duckdb`, kept in the storage format analysts' DuckDB
reads. Its schema is applied in a versioned step: the warehouse schema (schema.sql) and each
unit's staging.sql are fingerprinted; a changed script recreates what it defines (the working
database is derived from raw/, so a source whose staging changed is simply loaded again), and
nothing runs on a connection whose schema is current. SQL scripts are split by DuckDB itself,
and values are always bound, never formatted into the text.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.french import SQL_MACROS
from pipelines.foundation.settings import Settings

SQL = Path(__file__).parent / "sql"
WAREHOUSE_SCHEMA = SQL / "schema.sql"
READABLE_VIEWS = SQL / "views.sql"
SCHEMAS = ("ref", "staging", "kpi", "audit")


def sql_literal(text: str) -> str:
    """A quoted SQL string, for the statements that take no bound parameter (COMMENT ON, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def run_script(
    connection: duckdb.DuckDBPyConnection, script: str, parameters: Mapping[str, object] | None = None
) -> None:
    """Every statement of a script, split by DuckDB's own parser, each given the parameters it names."""
    for statement in connection.extract_statements(script):
        used = {name: parameters[name] for name in statement.named_parameters} if parameters else {}
        connection.execute(statement, used or None).fetchall()  # DuckDB 2 wants every result consumed


def prepare_working_database(settings: Settings) -> dict:
    """Before any connection to the working database: its folder, its storage format checked, and the
    connection settings that give a new file that format."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    ensure_storage_version(settings)
    return {"storage_compatibility_version": settings.storage_version}  # an existing file keeps its own


@contextmanager
def working_connection(settings: Settings, units: list[SourceUnit] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the working database, its schema current."""
    connection = duckdb.connect(str(settings.working_database), config=prepare_working_database(settings))
    try:
        ensure_schema(connection, units)
        yield connection
    finally:
        connection.close()


# --- versioned schema ------------------------------------------------------------------------------

VERSION_TABLE = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.schema_version (part VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL);
COMMENT ON TABLE audit.schema_version IS 'Version du schéma de la base de travail : empreinte de chaque script appliqué (schema.sql, staging.sql de chaque source).';
COMMENT ON COLUMN audit.schema_version.part IS 'Script : warehouse pour le schéma commun, sinon l''identifiant de la source.';
COMMENT ON COLUMN audit.schema_version.fingerprint IS 'Empreinte SHA-256 (16 caractères) du script appliqué.';
"""


def _fingerprint(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()[:16]


def ensure_schema(connection: duckdb.DuckDBPyConnection, units: list[SourceUnit] = ()) -> list[str]:
    """Apply what changed since the last run (the warehouse schema, then each unit's staging); return
    the parts recreated. A changed warehouse schema starts the database afresh."""
    run_script(connection, VERSION_TABLE)
    applied = dict(connection.execute("SELECT part, fingerprint FROM audit.schema_version").fetchall())
    recreated = []
    core = WAREHOUSE_SCHEMA.read_text(encoding="utf-8") + SQL_MACROS
    if applied.get("warehouse") != _fingerprint(core):
        if applied:
            for schema in SCHEMAS:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE").fetchall()
            run_script(connection, VERSION_TABLE)
            applied = {}
        run_script(connection, core)
        _record(connection, "warehouse", core)
        recreated.append("warehouse")
    for unit in units:
        script = unit.sql("staging.sql")
        if applied.get(unit.source_id) == _fingerprint(script):
            continue
        for table in created_tables(script):
            connection.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
        connection.execute("DELETE FROM audit.staging_load WHERE source_id = ?", [unit.source_id]).fetchall()
        run_script(connection, script)
        _record(connection, unit.source_id, script)
        recreated.append(unit.source_id)
    return recreated


def _record(connection: duckdb.DuckDBPyConnection, part: str, script: str) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO audit.schema_version VALUES (?, ?)", [part, _fingerprint(script)]
    ).fetchall()


CREATE_TABLE = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.I)


def created_tables(script: str) -> list[str]:
    return CREATE_TABLE.findall(script)


# --- storage format --------------------------------------------------------------------------------


def ensure_storage_version(settings: Settings) -> None:
    """A working database written in another storage format (made by an earlier version of the
    project, or before the setting changed) is converted once, so the published copy is readable."""
    if not re.fullmatch(r"v\d+\.\d+\.\d+", settings.storage_version):
        raise ValueError(f"version de stockage DuckDB invalide : {settings.storage_version!r}")
    working = settings.working_database
    if not working.exists():
        return
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {sql_literal(str(working))} AS working (READ_ONLY)").fetchall()
        ((tags,),) = connection.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'working'"
        ).fetchall()
        if tags.get("storage_version", "").rstrip("+") == settings.storage_version:
            return
        converted = working.with_suffix(".converting.duckdb")
        converted.unlink(missing_ok=True)
        connection.execute(
            f"ATTACH {sql_literal(str(converted))} AS converted "
            f"(STORAGE_VERSION {sql_literal(settings.storage_version)})"
        ).fetchall()
        connection.execute("COPY FROM DATABASE working TO converted").fetchall()
        connection.execute("DETACH converted").fetchall()
    os.replace(converted, working)


def storage_version_of(path: Path) -> str:
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {sql_literal(str(path))} AS checked (READ_ONLY)").fetchall()
        ((tags,),) = connection.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'checked'"
        ).fetchall()
    return tags.get("storage_version", "")


def described_columns(script: str, table: str) -> list[tuple[str, str, str]]:
    """(column, type, French comment) of a table a script creates, read by running the script in a
    throw-away in-memory database: the Dagster UI shows the same descriptions as DuckDB."""
    with duckdb.connect() as connection:
        for schema in SCHEMAS:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}").fetchall()
        run_script(connection, script)
        schema, name = table.split(".")
        return connection.execute(
            "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
            "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, name],
        ).fetchall()
