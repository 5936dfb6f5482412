"""Dagster assets built from a source unit: staging (validated uploads) then indicators.

Thin on purpose: the work is done by plain functions in pipelines.validation and
pipelines.warehouse; this module only says what Dagster should show and record.
"""


import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from dagster import BetaWarning

from pipelines.months import FIRST_MONTH as MONTHS_START, MONTHS, SINGLE_RUN
from pipelines.problems import ProblemsFound, errors, summary
from pipelines.reference import REFERENCE_TABLES
from pipelines.resources import WarehouseResource
from pipelines.source import SourceUnit
from pipelines.rejection_report import write_rejection_report
from pipelines.uploads import list_uploads, sha_prefix, upload_partitions
from pipelines.validation import ParsedUpload, file_sha256, parse_upload
from pipelines.warehouse import (
    compute_indicators,
    ensure_staging,
    load_upload,
    record_checks,
    record_upload,
    refresh_derived,
    replace_indicators,
    run_indicator_checks,
)

# Single-run backfills (a range of months in one run) are stable in practice but flagged beta.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=BetaWarning)

WAREHOUSE_POOL = "warehouse"  # every write to the working database goes through this pool (limit 1)
REFERENCE_KEYS = [AssetKey(["ref", t.name]) for t in REFERENCE_TABLES]
FRESHNESS_CHECK = "source_a_jour"


def staging_key(unit: SourceUnit) -> AssetKey:
    return AssetKey(["staging", unit.source_id])


def kpi_key(unit: SourceUnit) -> AssetKey:
    return AssetKey(["kpi", unit.source_id])


def upload_key(unit: SourceUnit) -> AssetKey:
    return AssetKey(["upload", unit.source_id])


def column_schema(frame: pl.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])


UPLOAD_CHECK = "fichiers_deposes_valides"


def upload_check_results(unit: SourceUnit, uploads: list[ParsedUpload]) -> list[dict]:
    """Audit rows per upload: is it valid, and each quality check the unit declares for uploads."""
    results = []
    for upload in uploads:
        problems = upload.problems
        results.append({
            "check_name": UPLOAD_CHECK,
            "upload_sha256": upload.sha256,
            "severity": "erreur",
            "passed": not errors(problems),
            "message": f"{upload.path.name} : " + (summary(errors(problems), 20) if errors(problems) else "fichier accepté."),
        })
        if not upload.accepted:
            continue
        for check in unit.quality_checks:
            if check.stage != "upload":
                continue
            found = [p for p in problems if p.check == check.name]
            results.append({
                "check_name": check.name,
                "upload_sha256": upload.sha256,
                "severity": "erreur" if errors(found) else "avertissement",
                "passed": not found,
                "message": f"{upload.path.name} : " + (summary(found, 20) if found else "contrôle passé."),
            })
    return results


def freshness_result(unit: SourceUnit, uploads: list[ParsedUpload], today: dt.date) -> dict:
    """Is the latest accepted upload recent enough for the source's expected cadence?"""
    periods = [u.period for u in uploads if u.accepted and u.period]
    latest = max(periods, default=None)
    age = (today - latest).days if latest else None
    fresh = age is not None and age <= unit.freshness_days
    when = f"dernier fichier accepté : période {latest:%m/%Y}, il y a {age} jours" if latest else "aucun fichier accepté"
    return {
        "check_name": FRESHNESS_CHECK,
        "severity": "avertissement",
        "passed": fresh,
        "message": f"{unit.label} : {when} (attendu : au moins tous les {unit.freshness_days} jours)."
        + ("" if fresh else " Demandez au référent le fichier le plus récent."),
    }


def as_check_results(results: list[dict], check_names: list[str]) -> list[AssetCheckResult]:
    """One Dagster check result per declared check, failing where any audit row failed."""
    outcomes = []
    for name in check_names:
        rows = [r for r in results if r["check_name"] == name]
        failed = [r for r in rows if not r["passed"]]
        outcomes.append(AssetCheckResult(
            check_name=name,
            passed=not failed,
            severity=AssetCheckSeverity.ERROR if any(r["severity"] == "erreur" for r in failed) else AssetCheckSeverity.WARN,
            metadata={
                "evalues": len(rows),
                "en_echec": len(failed),
                "messages": MetadataValue.md("\n\n".join(f"```\n{r['message']}\n```" for r in failed) or "aucun échec"),
            },
        ))
    return outcomes


def build_source_assets(unit: SourceUnit) -> list:
    if unit.monthly and unit.monthly.first_month < MONTHS_START:
        raise ValueError(f"{unit.source_id}: first month {unit.monthly.first_month} precedes the partitions ({MONTHS_START})")
    tags = {"objectif": str(unit.objective), **unit.tags}

    @asset(
        key=staging_key(unit),
        group_name=unit.source_id,
        deps=[upload_key(unit), *REFERENCE_KEYS],
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "polars"},
        tags=tags,
        description=f"{unit.label} : lignes validées de chaque fichier déposé dans raw/{unit.source_id}/.",
        check_specs=[
            AssetCheckSpec(
                UPLOAD_CHECK,
                asset=staging_key(unit),
                description="Chaque fichier déposé respecte le contrat de la source (sinon il est rejeté, rien n'est chargé).",
            ),
            AssetCheckSpec(
                FRESHNESS_CHECK,
                asset=staging_key(unit),
                description=f"Le dernier fichier accepté date de moins de {unit.freshness_days} jours.",
            ),
            *(AssetCheckSpec(c.name, asset=staging_key(unit), description=c.description)
              for c in unit.quality_checks if c.stage == "upload"),
        ],
    )
    def staging_asset(context: AssetExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings()
        reference = warehouse.reference()
        uploads: list[ParsedUpload] = []
        seen: set[str] = set()
        for path in list_uploads(settings.raw_dir / unit.source_id):
            upload = parse_upload(path, unit, reference, settings)
            if upload.sha256 in seen:  # the same content under another name counts once
                continue
            seen.add(upload.sha256)
            uploads.append(upload)
        accepted = [u for u in uploads if u.accepted]
        rejected = [u for u in uploads if not u.accepted]
        with warehouse.working() as connection:
            connection.begin()
            ensure_staging(connection, unit)
            connection.execute(f"DELETE FROM {unit.staging_table}")  # rebuilt from raw/ alone
            for upload in accepted:
                load_upload(connection, upload)
            refresh_derived(connection, unit)
            for upload in uploads:
                record_upload(connection, upload)
            check_rows = [*upload_check_results(unit, uploads), freshness_result(unit, uploads, dt.date.today())]
            record_checks(connection, unit.source_id, "fichier", check_rows)
            connection.commit()
            rows = connection.execute(f"SELECT count(*) FROM {unit.staging_table}").fetchall()[0][0]
            preview = connection.sql(f"SELECT * FROM {unit.staging_table} LIMIT 10").pl()
        reports = []
        for upload in rejected:
            reports += write_rejection_report(upload.path, upload.problems, upload.sha256)
            context.log.warning(f"Fichier rejeté : {upload.path.name}\n{summary(upload.problems, 20)}")
        yield MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": column_schema(preview),
                "fichiers_acceptes": MetadataValue.json([u.path.name for u in accepted]),
                "fichiers_rejetes": MetadataValue.json([u.path.name for u in rejected]),
                "sha256_acceptes": MetadataValue.json([u.sha256 for u in accepted]),
                "rapports_de_rejet": MetadataValue.json([str(p) for p in reports]),
                "apercu": MetadataValue.md(_markdown(preview)),
            }
        )
        yield from as_check_results(
            check_rows, [UPLOAD_CHECK, FRESHNESS_CHECK, *(c.name for c in unit.quality_checks if c.stage == "upload")]
        )

    @asset(
        key=kpi_key(unit),
        group_name=unit.source_id,
        deps=[staging_key(unit), *REFERENCE_KEYS],
        # a monthly source: one partition per month, a range of months computed in one run
        partitions_def=MONTHS if unit.monthly else None,
        backfill_policy=SINGLE_RUN if unit.monthly else None,
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        tags=tags,
        description=f"Indicateurs calculés depuis « {unit.label} » : "
        + ", ".join(i.indicator_id for i in unit.indicators) + ".",
        check_specs=[
            AssetCheckSpec(
                "valeurs_coherentes",
                asset=kpi_key(unit),
                blocking=True,
                description="Taux entre 0 et 1, numérateur ≤ dénominateur, une valeur par clé : vérifié avant écriture.",
            ),
            *(AssetCheckSpec(c.name, asset=kpi_key(unit), description=c.description)
              for c in unit.quality_checks if c.stage == "indicators"),
        ],
    )
    def kpi_asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
        months = None
        if unit.monthly:
            key_range = context.partition_key_range
            months = (dt.date.fromisoformat(f"{key_range.start}-01"), dt.date.fromisoformat(f"{key_range.end}-01"))
        with warehouse.working() as connection:
            ensure_staging(connection, unit)
            values = compute_indicators(connection, unit, months)
            connection.begin()
            try:
                replace_indicators(connection, unit, months)  # checks the values before writing them
            except ProblemsFound as failure:
                connection.rollback()
                raise Failure(
                    description="Indicateurs incohérents, rien n'est écrit ni publié :\n" + summary(failure.problems),
                    metadata={"problemes": MetadataValue.md(summary(failure.problems))},
                ) from None
            check_rows = run_indicator_checks(connection, unit)
            record_checks(connection, unit.source_id, "indicateurs", check_rows)
            connection.commit()
            (count, identifiers), = connection.execute(
                "SELECT count(*), list_sort(list_distinct(list(indicator_id))) FROM computed_values").fetchall()
            schema = TableSchema(columns=[TableColumn(n, str(t)) for n, t in zip(values.columns, values.types)])
            preview = connection.sql(
                "SELECT * FROM computed_values WHERE territory_level = 'departement' LIMIT 20").pl()
        yield MaterializeResult(
            metadata={
                "dagster/row_count": count,
                "dagster/column_schema": schema,
                "indicateurs": MetadataValue.json(identifiers),
                **({"mois_recalcules": f"{months[0]:%Y-%m} à {months[1]:%Y-%m}"} if months else {}),
                "apercu": MetadataValue.md(_markdown(preview)),
            }
        )
        yield AssetCheckResult(check_name="valeurs_coherentes", passed=True, metadata={"valeurs": count})
        yield from as_check_results(check_rows, [c.name for c in unit.quality_checks if c.stage == "indicators"])

    @asset(
        key=upload_key(unit),
        group_name=unit.source_id,
        partitions_def=upload_partitions(unit),
        kinds={"xlsx", "csv"},
        tags=tags,
        description=f"Un fichier déposé dans raw/{unit.source_id}/ (une partition par contenu) : contrôlé, "
        "et s'il est rejeté, rapport et classeur annoté écrits dans _rejets/. Le fichier n'est jamais modifié.",
        check_specs=[AssetCheckSpec(
            "fichier_conforme", asset=upload_key(unit),
            description="Le fichier respecte le contrat de la source (format, en-têtes, valeurs, règles).",
        )],
    )
    def upload_asset(context: AssetExecutionContext, warehouse: WarehouseResource):
        settings = warehouse.settings()
        path = find_upload(settings.raw_dir / unit.source_id, context.partition_key)
        if path is None:
            raise Failure(description=f"Le fichier {context.partition_key} n'est plus dans raw/{unit.source_id}/.")
        upload = parse_upload(path, unit, warehouse.reference(), settings)
        reports = [] if upload.accepted else write_rejection_report(path, upload.problems, upload.sha256)
        yield MaterializeResult(
            metadata={
                "fichier": MetadataValue.path(str(path)),
                "sha256": upload.sha256,
                "statut": "accepté" if upload.accepted else "rejeté",
                "dagster/row_count": upload.rows,
                "periode": upload.period.isoformat() if upload.period else "",
                "colonnes_ignorees": MetadataValue.json(upload.ignored_columns),
                "rapports_de_rejet": MetadataValue.json([str(p) for p in reports]),
            }
        )
        yield AssetCheckResult(
            check_name="fichier_conforme",
            passed=upload.accepted,
            severity=AssetCheckSeverity.ERROR if not upload.accepted else AssetCheckSeverity.WARN,
            metadata={
                "erreurs": len(errors(upload.problems)),
                "problemes": MetadataValue.md(f"```\n{summary(upload.problems, 100)}\n```" if upload.problems else "aucun"),
            },
        )

    return [upload_asset, staging_asset, kpi_asset]


def find_upload(folder: Path, key: str) -> Path | None:
    """The file of a partition: same content fingerprint (the name may have changed since)."""
    prefix = sha_prefix(key)
    candidates = sorted(list_uploads(folder), key=lambda p: p.name != key.split(" ", 1)[-1])
    return next((p for p in candidates if file_sha256(p).startswith(prefix)), None)


def _markdown(frame: pl.DataFrame) -> str:
    """A small markdown table for the Dagster UI (no pandas on this path)."""
    if frame.height == 0:
        return "(vide)"
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * frame.width
    body = ["| " + " | ".join("" if v is None else str(v).replace("|", "/") for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *body])
