"""Loading validated uploads into the working database: staging rows, the upload audit, the checks,
and the reference tables.

A refresh loads only what is new: the accepted uploads of a source not loaded yet, in the order
they arrived, each through the unit's load.sql (which says how a later file supersedes an earlier
one). When that order cannot be kept (a file withdrawn from raw/, or a new file older than one
already loaded) the source is loaded again from all its files, so that the result is always the
one a rebuild from raw/ alone would give.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.problems import errors, summary, total, warnings
from pipelines.reference.tables import ReferenceData
from pipelines.validation.parse import ParsedUpload
from pipelines.warehouse.database import run_script, sql_literal


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- reference -------------------------------------------------------------------------------------

REFERENCE_VERSION = """
CREATE TABLE IF NOT EXISTS audit.reference_version (fingerprint VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL);
COMMENT ON TABLE audit.reference_version IS 'Empreinte des fichiers de référence chargés dans ref (les tables ne sont rechargées que si elle change).';
COMMENT ON COLUMN audit.reference_version.fingerprint IS 'Empreinte des fichiers de référence et du territoire.';
COMMENT ON COLUMN audit.reference_version.loaded_at IS 'Date et heure du chargement.';
"""


def loaded_reference(connection: duckdb.DuckDBPyConnection) -> str | None:
    run_script(connection, REFERENCE_VERSION)
    rows = connection.execute("SELECT fingerprint FROM audit.reference_version").fetchall()
    return rows[0][0] if rows else None


def load_reference_tables(
    connection: duckdb.DuckDBPyConnection, reference: ReferenceData, names: Sequence[str] | None = None
) -> dict[str, int]:
    """(Re)load reference tables, with their French comments; returns rows per table."""
    rows = {}
    for name in names or list(reference.tables):
        spec = reference.tables[name]
        frame = reference.table(name)
        connection.register("reference_rows", frame)
        try:
            connection.execute(f"CREATE OR REPLACE TABLE ref.{spec.name} AS SELECT * FROM reference_rows").fetchall()
        finally:
            connection.unregister("reference_rows")
        # COMMENT takes no bound parameter; the texts come from the fixed reference catalogue.
        connection.execute(f"COMMENT ON TABLE ref.{spec.name} IS {sql_literal(spec.description)}").fetchall()
        for column in frame.columns:
            connection.execute(
                f"COMMENT ON COLUMN ref.{spec.name}.{column} IS {sql_literal(spec.describe(column))}"
            ).fetchall()
        rows[name] = frame.height
    run_script(connection, REFERENCE_VERSION)
    connection.execute("DELETE FROM audit.reference_version").fetchall()
    connection.execute("INSERT INTO audit.reference_version VALUES (?, ?)", [reference.fingerprint(), now()]).fetchall()
    return rows


# --- staging ---------------------------------------------------------------------------------------


def loaded_uploads(connection: duckdb.DuckDBPyConnection, unit: SourceUnit) -> list[str]:
    """The uploads of the source in staging, in load order."""
    return [
        sha
        for (sha,) in connection.execute(
            "SELECT upload_sha256 FROM audit.staging_load WHERE source_id = ? ORDER BY load_order", [unit.source_id]
        ).fetchall()
    ]


def plan_loading(loaded: list[str], accepted: list[str]) -> tuple[bool, list[str]]:
    """(start again, uploads to load) so that staging ends as loading `accepted` in order would leave it:
    the new uploads only when they all come after those already loaded, else everything again."""
    if loaded == accepted[: len(loaded)]:
        return False, accepted[len(loaded) :]
    return True, accepted


def refresh_staging(
    connection: duckdb.DuckDBPyConnection, unit: SourceUnit, uploads: list[ParsedUpload], full: bool = False
) -> list[ParsedUpload]:
    """Bring the unit's staging to the accepted `uploads` (in arrival order); return those loaded now."""
    accepted = [u for u in uploads if u.accepted]
    by_sha = {u.sha256: u for u in accepted}
    start_again, to_load = plan_loading([] if full else loaded_uploads(connection, unit), list(by_sha))
    if start_again or full:
        for table in _staging_tables(connection, unit):
            connection.execute(f"DELETE FROM {table}").fetchall()
        connection.execute("DELETE FROM audit.staging_load WHERE source_id = ?", [unit.source_id]).fetchall()
    order = connection.execute(
        "SELECT coalesce(max(load_order), 0) FROM audit.staging_load WHERE source_id = ?", [unit.source_id]
    ).fetchall()[0][0]
    for sha in to_load:
        order += 1
        load_upload(connection, by_sha[sha], order)
    if (to_load or start_again) and unit.has_sql("derived.sql"):
        run_script(connection, unit.sql("derived.sql"))
    return [by_sha[sha] for sha in to_load]


def _staging_tables(connection: duckdb.DuckDBPyConnection, unit: SourceUnit) -> list[str]:
    from pipelines.warehouse.database import created_tables

    return [t for t in created_tables(unit.sql("staging.sql")) if t.startswith("staging.")]


def load_upload(connection: duckdb.DuckDBPyConnection, upload: ParsedUpload, order: int) -> None:
    """Apply the unit's load.sql to one accepted upload (exposed to SQL as `upload_rows`)."""
    assert upload.accepted and upload.frame is not None
    connection.register("upload_rows", upload.frame)
    try:
        run_script(
            connection,
            upload.unit.sql("load.sql"),
            {"period": upload.period, "sha256": upload.sha256, "load_order": order},
        )
    finally:
        connection.unregister("upload_rows")
    connection.execute(
        "INSERT OR REPLACE INTO audit.staging_load VALUES (?, ?, ?, ?)",
        [upload.unit.source_id, upload.sha256, order, now()],
    ).fetchall()


def record_uploads(
    connection: duckdb.DuckDBPyConnection, uploads: list[ParsedUpload], accounts: dict[str, str] | None = None
) -> None:
    for upload in uploads:
        record_upload(connection, upload, (accounts or {}).get(upload.sha256))


def record_upload(connection: duckdb.DuckDBPyConnection, upload: ParsedUpload, account: str | None = None) -> None:
    status = "accepted" if upload.accepted else "rejected"
    message = summary(upload.problems) if upload.problems else "Fichier accepté sans remarque."
    connection.execute(
        """
        INSERT INTO audit.upload AS existing
            (source_id, sha256, file_name, folder, size_bytes, status, message, rows, period,
             ignored_columns, errors, warnings, account, first_seen_at, processed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source_id, sha256) DO UPDATE SET
            file_name = excluded.file_name, folder = excluded.folder, status = excluded.status,
            message = excluded.message, rows = excluded.rows, period = excluded.period,
            ignored_columns = excluded.ignored_columns, errors = excluded.errors, warnings = excluded.warnings,
            account = coalesce(excluded.account, existing.account), processed_at = excluded.processed_at
        """,
        [
            upload.unit.source_id,
            upload.sha256,
            upload.path.name,
            str(upload.path.parent),
            upload.size,
            status,
            message,
            upload.rows,
            upload.period,
            upload.ignored_columns,
            total(errors(upload.problems)),
            total(warnings(upload.problems)),
            account,
            now(),
            now(),
        ],
    ).fetchall()


def record_checks(connection: duckdb.DuckDBPyConnection, source_id: str, stage: str, results: list[dict]) -> None:
    """Replace the source's check results of this stage ('fichier' or 'indicateurs') with this evaluation."""
    connection.execute(
        "DELETE FROM audit.check_result WHERE source_id = ? AND stage = ?", [source_id, stage]
    ).fetchall()
    rows = [
        [r["check_name"], source_id, stage, r.get("upload_sha256"), r["severity"], r["passed"], r["message"], now()]
        for r in results
    ]
    if rows:
        connection.executemany("INSERT INTO audit.check_result VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
