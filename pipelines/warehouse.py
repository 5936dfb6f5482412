"""The warehouse: a private working database that runs write to, and the published file analysts read.

Runs write only to `warehouse/.build/working.duckdb`, kept in the storage format analysts' DuckDB
reads (`storage_version`). Publishing checkpoints it, copies the file byte for byte into a new
file, then renames that file over `warehouse/esante.duckdb` in one atomic step. An analyst
holding the previous file keeps reading it; a run that dies before the rename leaves the
published file untouched.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.problems import Problem, ProblemsFound, errors, summary
from pipelines.reference import COLUMN_DESCRIPTIONS, REFERENCE_TABLES, ReferenceData
from pipelines.settings import Settings
from pipelines.source import SourceUnit
from pipelines.validation import ParsedUpload

WAREHOUSE_DDL = Path(__file__).parent / "sql" / "warehouse.sql"
READABLE_VIEWS = Path(__file__).parent / "sql" / "views.sql"
INDICATOR_COLUMNS = (
    "indicator_id", "territory_level", "territory_code", "period", "segment",
    "numerator", "denominator", "value", "unit", "upload_sha256",
)


@contextmanager
def working_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the working database, with the warehouse schema in place."""
    connection = duckdb.connect(str(settings.working_database), config=prepare_working_database(settings))
    try:
        connection.execute(WAREHOUSE_DDL.read_text(encoding="utf-8"))
        yield connection
    finally:
        connection.close()


def prepare_working_database(settings: Settings) -> dict:
    """Before any connection to the working database (here and in WarehouseResource): its folder,
    its storage format checked, and the connection settings that give a new file that format."""
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    ensure_storage_version(settings)
    return {"storage_compatibility_version": settings.storage_version}  # an existing file keeps its own


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- reference -----------------------------------------------------------------------------------

def load_reference_table(connection: duckdb.DuckDBPyConnection, name: str, reference: ReferenceData) -> int:
    spec = next(t for t in REFERENCE_TABLES if t.name == name)
    frame = reference.table(name)
    connection.register("reference_rows", frame)
    try:
        connection.execute(f"CREATE OR REPLACE TABLE ref.{spec.name} AS SELECT * FROM reference_rows")
        # COMMENT takes no bound parameter; the texts come from the fixed reference catalogue.
        connection.execute(f"COMMENT ON TABLE ref.{spec.name} IS {sql_literal(spec.description)}")
        for column in frame.columns:
            description = COLUMN_DESCRIPTIONS.get(column, "Colonne du fichier de référence (voir reference/SOURCES.md).")
            connection.execute(f"COMMENT ON COLUMN ref.{spec.name}.{column} IS {sql_literal(description)}")
    finally:
        connection.unregister("reference_rows")
    return frame.height


# --- staging -------------------------------------------------------------------------------------

def ensure_staging(connection: duckdb.DuckDBPyConnection, unit: SourceUnit) -> None:
    connection.execute(unit.sql("staging.sql"))


def load_upload(connection: duckdb.DuckDBPyConnection, upload: ParsedUpload) -> None:
    """Apply the unit's load.sql to one accepted upload (exposed to SQL as `upload_rows`)."""
    assert upload.accepted and upload.frame is not None
    connection.register("upload_rows", upload.frame)
    try:
        parameters = {"period": upload.period, "sha256": upload.sha256}
        for statement in _statements(upload.unit.sql("load.sql")):
            used = {k: v for k, v in parameters.items() if f"${k}" in statement}
            connection.execute(statement, used)
    finally:
        connection.unregister("upload_rows")


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def record_upload(connection: duckdb.DuckDBPyConnection, upload: ParsedUpload) -> None:
    status = "accepted" if upload.accepted else "rejected"
    message = summary(upload.problems) if upload.problems else "Fichier accepté sans remarque."
    connection.execute(
        """
        INSERT INTO audit.upload AS existing
            (source_id, sha256, file_name, folder, size_bytes, status, message, rows, period,
             ignored_columns, first_seen_at, processed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source_id, sha256) DO UPDATE SET
            file_name = excluded.file_name, folder = excluded.folder, status = excluded.status,
            message = excluded.message, rows = excluded.rows, period = excluded.period,
            ignored_columns = excluded.ignored_columns, processed_at = excluded.processed_at
        """,
        [
            upload.unit.source_id, upload.sha256, upload.path.name, str(upload.path.parent), upload.size,
            status, message, upload.rows, upload.period, upload.ignored_columns, now(), now(),
        ],
    )


def record_checks(connection: duckdb.DuckDBPyConnection, source_id: str, stage: str, results: list[dict]) -> None:
    """Replace the source's check results of this stage ('fichier' or 'indicateurs') with this evaluation."""
    connection.execute("DELETE FROM audit.check_result WHERE source_id = ? AND stage = ?", [source_id, stage])
    rows = [
        [r["check_name"], source_id, stage, r.get("upload_sha256"), r["severity"], r["passed"], r["message"], now()]
        for r in results
    ]
    if rows:
        connection.executemany("INSERT INTO audit.check_result VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def run_indicator_checks(connection: duckdb.DuckDBPyConnection, unit: SourceUnit) -> list[dict]:
    """Rows of the unit's checks.sql (check_name, passed, severity, message), if it has one."""
    if not (unit.directory / "checks.sql").exists():
        return []
    return connection.sql(unit.sql("checks.sql")).pl().to_dicts()


# --- indicators ----------------------------------------------------------------------------------

MonthSpan = tuple[dt.date, dt.date]  # first days of the first and last months, both included

# The values a run computes stay inside DuckDB: the unit's indicators.sql (a SELECT) is held in a
# temporary table of the run's connection, checked there, then written (no dataframe round trip).
HOLD_COMPUTED_VALUES = """
CREATE OR REPLACE TEMP TABLE computed_values AS
SELECT {columns} FROM ({indicators}) AS computed
WHERE $first IS NULL OR period BETWEEN $first AND $last
"""

# Blocking checks on computed values, before they are written (a failing run publishes nothing).
COMPUTED_VALUE_PROBLEMS = """
SELECT
    count(*) - count(DISTINCT (indicator_id, territory_level, territory_code, period, segment)) AS duplicated,
    count(*) FILTER (WHERE unit = 'taux' AND numerator > denominator) AS numerator_above_denominator,
    count(*) FILTER (WHERE numerator < 0 OR denominator < 0) AS negative_count,
    count(*) FILTER (WHERE unit = 'taux' AND NOT value BETWEEN 0 AND 1) AS rate_out_of_range
FROM computed_values
"""


def refresh_derived(connection: duckdb.DuckDBPyConnection, unit: SourceUnit) -> None:
    """Rebuild the tables the unit derives from its staging rows (its derived.sql, if any)."""
    if (unit.directory / "derived.sql").exists():
        connection.execute(unit.sql("derived.sql"))


def compute_indicators(connection: duckdb.DuckDBPyConnection, unit: SourceUnit,
                       months: MonthSpan | None = None) -> duckdb.DuckDBPyRelation:
    """The unit's indicators (for a monthly source, only the periods of `months`), held in the
    temporary table `computed_values` until replace_indicators writes them."""
    connection.execute(
        HOLD_COMPUTED_VALUES.format(columns=", ".join(INDICATOR_COLUMNS), indicators=unit.sql("indicators.sql")),
        {"first": months[0] if months else None, "last": months[1] if months else None},
    )
    return connection.table("computed_values")


def indicator_problems(connection: duckdb.DuckDBPyConnection, source_id: str) -> list[Problem]:
    """What is wrong with the values held by compute_indicators (nothing is written if any)."""
    (duplicated, over, negative, out_of_range), = connection.execute(COMPUTED_VALUE_PROBLEMS).fetchall()
    found = [
        (duplicated, f"{duplicated} valeurs d'indicateur en double pour la même clé.",
         "Corriger la requête indicators.sql de la source.", "cle_unique"),
        (over, f"{over} taux dont le numérateur dépasse le dénominateur.",
         "Vérifier les données et la requête.", "numerateur_le_denominateur"),
        (negative, f"{negative} valeurs avec un effectif négatif.",
         "Vérifier les données et la requête.", "effectifs_positifs"),
        (out_of_range, f"{out_of_range} taux hors de l'intervalle [0, 1].",
         "Vérifier les données et la requête.", "taux_entre_0_et_1"),
    ]
    return [Problem(message, action, file=source_id, check=check) for count, message, action, check in found if count]


# A monthly source's run replaces the values of its months, and drops those of months no longer
# in staging (an upload withdrawn from raw/); {staging} and {month} are the unit's own identifiers.
DELETE_MONTHS = """
DELETE FROM kpi.indicator_value
WHERE list_contains($identifiers, indicator_id)
  AND (period BETWEEN $first AND $last OR period NOT IN (SELECT DISTINCT {month} FROM {staging}))
"""


def replace_indicators(connection: duckdb.DuckDBPyConnection, unit: SourceUnit,
                       months: MonthSpan | None = None) -> None:
    """Write the values held by compute_indicators in place of the unit's (or its months') values."""
    problems = indicator_problems(connection, unit.source_id)
    if errors(problems):
        raise ProblemsFound(problems)
    identifiers = [i.indicator_id for i in unit.indicators]
    if months is None:
        connection.execute("DELETE FROM kpi.indicator_value WHERE list_contains(?, indicator_id)", [identifiers])
    else:
        connection.execute(
            DELETE_MONTHS.format(month=unit.monthly.column, staging=unit.staging_table),
            {"identifiers": identifiers, "first": months[0], "last": months[1]},
        )
    connection.execute("INSERT INTO kpi.indicator_value BY NAME SELECT *, ? AS computed_at FROM computed_values", [now()])


def replace_catalogue(connection: duckdb.DuckDBPyConnection, units: list[SourceUnit]) -> int:
    rows = [
        (i.indicator_id, i.label, i.objective, i.definition, i.unit, unit.source_id)
        for unit in units
        for i in unit.indicators
    ]
    connection.execute("DELETE FROM kpi.indicator")
    if rows:
        connection.executemany("INSERT INTO kpi.indicator VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


# --- publication ---------------------------------------------------------------------------------

def publish(settings: Settings) -> Path:
    """Copy the working database into a fresh file and rename it over the published one, atomically."""
    target = settings.warehouse_path
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent)
    temporary = target.parent / f".{target.stem}.{os.getpid()}.tmp.duckdb"
    temporary.unlink(missing_ok=True)
    with working_connection(settings) as connection:
        connection.execute(READABLE_VIEWS.read_text(encoding="utf-8"))
        inherit_column_comments(connection, "kpi", "v_dernieres_valeurs", "v_objectif_%")
        connection.execute("CHECKPOINT")  # everything in the file, nothing left in the WAL
    if Path(f"{settings.working_database}.wal").exists():  # a WAL beside the published copy would be lost
        raise RuntimeError(f"journal WAL inattendu après le point de contrôle : {settings.working_database}.wal")
    shutil.copyfile(settings.working_database, temporary)
    _fsync(temporary)
    if target.exists():
        _keep_version(target, settings)
    os.replace(temporary, target)
    _fsync(target.parent)
    return target


def ensure_storage_version(settings: Settings) -> None:
    """A working database written in another storage format (made by an earlier version of the
    project, or before the setting changed) is converted once, so the published copy is readable."""
    if not re.fullmatch(r"v\d+\.\d+\.\d+", settings.storage_version):
        raise ValueError(f"version de stockage DuckDB invalide : {settings.storage_version!r}")
    working = settings.working_database
    if not working.exists():
        return
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {sql_literal(str(working))} AS working (READ_ONLY)")
        (tags,), = connection.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'working'").fetchall()
        if tags.get("storage_version", "").rstrip("+") == settings.storage_version:
            return
        converted = working.with_suffix(".converting.duckdb")
        converted.unlink(missing_ok=True)
        connection.execute(f"ATTACH {sql_literal(str(converted))} AS converted "
                           f"(STORAGE_VERSION {sql_literal(settings.storage_version)})")
        connection.execute("COPY FROM DATABASE working TO converted")
        connection.execute("DETACH converted")
    os.replace(converted, working)


def inherit_column_comments(connection: duckdb.DuckDBPyConnection, schema: str, base: str, pattern: str) -> None:
    """Views derived from `base` (one per roadmap objective) carry the same column comments."""
    comments = dict(connection.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [schema, base]
    ).fetchall())
    derived = connection.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name LIKE ?",
        [schema, pattern],
    ).fetchall()
    for view, column in derived:  # identifiers come from the catalogue, not from input
        if comments.get(column):
            connection.execute(f'COMMENT ON COLUMN {schema}."{view}"."{column}" IS {sql_literal(comments[column])}')


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _keep_version(target: Path, settings: Settings) -> None:
    versions = settings.versions_dir
    versions.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    try:
        os.link(target, versions / f"{target.stem}-{stamp}.duckdb")
    except OSError:
        return
    kept = sorted(versions.glob(f"{target.stem}-*.duckdb"))
    for old in kept[: max(0, len(kept) - settings.kept_versions)]:
        old.unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a publication that was killed (its process is gone)."""
    for leftover in folder.glob(".*.tmp.duckdb*"):
        try:
            pid = int(leftover.name.split(".")[2])
        except (IndexError, ValueError):
            continue
        if not _process_alive(pid):
            leftover.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
