"""The three assets of a source unit: each upload (validated), the source's rows, its indicators.

Thin on purpose: the work is done by plain functions of the validation and warehouse layers;
this module only says what Dagster should show and record. Owners, tags and column descriptions
are set for every asset in one place (pipelines/orchestration/definitions.py).
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.problems import ProblemsFound, errors, summary, total
from pipelines.orchestration.keys import (
    FULL_RELOAD_TAG,
    MONTHS,
    SINGLE_RUN,
    kpi_key,
    reference_key,
    staging_key,
    upload_key,
    upload_partitions,
)
from pipelines.orchestration.resources import ProjectResource, WarehouseResource
from pipelines.validation.deposits import deposit_accounts
from pipelines.validation.reports import report_text, retire_reports, write_rejection_report
from pipelines.validation.uploads import scan_folder, sha_prefix
from pipelines.validation.verdicts import (
    FRESHNESS_CHECK,
    UPLOADS_CHECK,
    freshness_result,
    upload_check_results,
    validated_uploads,
)
from pipelines.warehouse.database import described_columns
from pipelines.warehouse.indicators import compute_indicators, replace_indicators, run_indicator_checks
from pipelines.warehouse.staging import record_checks, record_uploads, refresh_staging

UPLOAD_CHECK = "fichier_conforme"
COHERENCE_CHECK = "valeurs_coherentes"


def build_source_assets(unit: SourceUnit, reference_tables: list[str]) -> list:
    return [upload_asset(unit), staging_asset(unit, reference_tables), indicators_asset(unit, reference_tables)]


def column_schema(unit: SourceUnit, table: str, script: str) -> TableSchema:
    return TableSchema(
        columns=[
            TableColumn(name, kind, description=comment) for name, kind, comment in described_columns(script, table)
        ]
    )


# --- one upload ------------------------------------------------------------------------------------


def upload_asset(unit: SourceUnit):
    key = upload_key(unit)

    @asset(
        key=key,
        group_name=unit.source_id,
        partitions_def=upload_partitions(unit),
        kinds={"xlsx", "csv"},
        description=f"Un fichier déposé dans raw/{unit.source_id}/ (une partition par contenu), contrôlé une fois : "
        "accepté, ou rejeté avec un rapport et un classeur annoté dans _rejets/ (l'exécution est alors en échec). "
        "Le fichier n'est jamais modifié.",
        check_specs=[
            AssetCheckSpec(
                UPLOAD_CHECK,
                asset=key,
                partitions_def=upload_partitions(unit),  # one verdict per upload
                description="Le fichier respecte le contrat de la source (format, en-têtes, valeurs, règles).",
            )
        ],
    )
    def validated_upload(context: AssetExecutionContext, project: ProjectResource) -> Iterator:
        settings = project.settings()
        path = find_upload(settings.raw_dir / unit.source_id, context.partition_key)
        if path is None:
            raise Failure(description=f"Le fichier {context.partition_key} n'est plus dans raw/{unit.source_id}/.")
        [upload] = validated_uploads(unit, [path], project.reference(), settings)
        reports = [] if upload.accepted else write_rejection_report(upload, settings.limits)
        found = errors(upload.problems)
        check = AssetCheckResult(
            check_name=UPLOAD_CHECK,
            passed=upload.accepted,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "erreurs": total(found),
                "avertissements": total(upload.problems) - total(found),
                "problemes": MetadataValue.md(
                    f"```\n{summary(upload.problems, 100)}\n```" if upload.problems else "aucun"
                ),
                "rapports_de_rejet": MetadataValue.json([str(p) for p in reports]),
            },
        )
        if not upload.accepted:
            yield check
            raise Failure(
                description=f"Fichier rejeté : {upload.path.name} ({total(found)} erreur(s)). "
                f"Rapport : {reports[0] if reports else '—'}\n{summary(found, 20)}",
                metadata={"rapport": MetadataValue.md(f"```\n{report_text(upload)}\n```")},
                allow_retries=False,
            )
        yield MaterializeResult(
            metadata={
                "fichier": MetadataValue.path(str(path)),
                "sha256": upload.sha256,
                "statut": "accepté" + (" avec avertissements" if upload.problems else ""),
                "dagster/row_count": upload.rows,
                "periode": upload.period.isoformat() if upload.period else "",
                "colonnes_ignorees": MetadataValue.json(upload.ignored_columns),
            }
        )
        yield check

    return validated_upload


def find_upload(folder: Path, key: str) -> Path | None:
    """The file of a partition: same content fingerprint (the name may have changed since)."""
    prefix = sha_prefix(key)
    candidates = sorted(scan_folder(folder)[0], key=lambda p: p.name != key.split(" ", 1)[-1])
    return next((p for p in candidates if file_sha256(p).startswith(prefix)), None)


# --- the source's rows -----------------------------------------------------------------------------


def staging_asset(unit: SourceUnit, reference_tables: list[str]):
    key = staging_key(unit)
    upload_checks = [c for c in unit.quality_checks if c.stage == "upload"]

    @asset(
        key=key,
        group_name=unit.source_id,
        deps=[upload_key(unit), *(reference_key(t) for t in reference_tables)],
        kinds={"duckdb", "polars"},
        description=f"{unit.label} : lignes validées des fichiers de raw/{unit.source_id}/ (table "
        f"{unit.staging_table}) ; seuls les fichiers nouveaux sont chargés.",
        metadata={"dagster/column_schema": column_schema(unit, unit.staging_table, unit.sql("staging.sql"))},
        check_specs=[
            AssetCheckSpec(
                UPLOADS_CHECK,
                asset=key,
                description="Chaque fichier déposé respecte le contrat de la "
                "source (sinon il est rejeté et rien n'en est chargé).",
            ),
            AssetCheckSpec(
                FRESHNESS_CHECK,
                asset=key,
                description=f"Le dernier fichier accepté date de moins de {unit.freshness_days} jours.",
            ),
            *(AssetCheckSpec(c.name, asset=key, description=c.description) for c in upload_checks),
        ],
    )
    def source_rows(context: AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        settings = project.settings()
        paths, refused = scan_folder(settings.raw_dir / unit.source_id)
        uploads = validated_uploads(unit, paths, project.reference(), settings)
        full = context.run.tags.get(FULL_RELOAD_TAG) == "complet"
        with warehouse.connection() as connection:
            connection.begin()
            loaded = refresh_staging(connection, unit, uploads, full=full)
            record_uploads(connection, uploads, deposit_accounts(settings.raw_dir / unit.source_id))
            results = [*upload_check_results(unit, uploads, refused), freshness_result(unit, uploads, dt.date.today())]
            record_checks(connection, unit.source_id, "fichier", results)
            connection.commit()
            rows = connection.execute(f"SELECT count(*) FROM {unit.staging_table}").fetchall()[0][0]
            preview = connection.sql(f"SELECT * FROM {unit.staging_table} LIMIT 10").pl()
        rejected = [u for u in uploads if not u.accepted]
        for upload in rejected:
            write_rejection_report(upload, settings.limits)  # rewritten only if missing or unreadable
        # reports of files accepted since, or gone, would tell a steward something no longer true
        retire_reports(settings.raw_dir / unit.source_id, {u.path.name for u in rejected})
        yield MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "fichiers_charges_cette_fois": MetadataValue.json([u.path.name for u in loaded]),
                "fichiers_acceptes": MetadataValue.json([u.path.name for u in uploads if u.accepted]),
                "fichiers_rejetes": MetadataValue.json([u.path.name for u in rejected]),
                "entrees_ignorees": MetadataValue.json([r.message for r in refused]),
                "apercu": MetadataValue.md(markdown(preview)),
            }
        )
        yield from check_results(results, [UPLOADS_CHECK, FRESHNESS_CHECK, *(c.name for c in upload_checks)])

    return source_rows


# --- the source's indicators -----------------------------------------------------------------------


def indicators_asset(unit: SourceUnit, reference_tables: list[str]):
    key = kpi_key(unit)
    indicator_checks = [c for c in unit.quality_checks if c.stage == "indicators"]

    @asset(
        key=key,
        group_name=unit.source_id,
        deps=[staging_key(unit), *(reference_key(t) for t in reference_tables)],
        # a monthly source: one partition per month, a range of months computed in one run
        partitions_def=MONTHS if unit.monthly else None,
        backfill_policy=SINGLE_RUN if unit.monthly else None,
        kinds={"duckdb"},
        description=f"Indicateurs calculés depuis « {unit.label} » : "
        + ", ".join(i.indicator_id for i in unit.indicators)
        + " (dans kpi.indicator_value).",
        check_specs=[
            AssetCheckSpec(
                COHERENCE_CHECK,
                asset=key,
                blocking=True,
                description="Taux entre 0 et 1, numérateur ≤ dénominateur, une valeur par clé, toute "
                "valeur non définie expliquée : vérifié avant écriture (rien n'est écrit ni publié sinon).",
            ),
            *(AssetCheckSpec(c.name, asset=key, description=c.description) for c in indicator_checks),
        ],
    )
    def source_indicators(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
        months = None
        if unit.monthly:
            key_range = context.partition_key_range
            months = (dt.date.fromisoformat(f"{key_range.start}-01"), dt.date.fromisoformat(f"{key_range.end}-01"))
        with warehouse.connection() as connection:
            values = compute_indicators(connection, unit, months)
            connection.begin()
            try:
                count = replace_indicators(connection, unit, months)  # checks the values before writing them
            except ProblemsFound as failure:
                connection.rollback()
                yield AssetCheckResult(
                    check_name=COHERENCE_CHECK,
                    passed=False,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"problemes": MetadataValue.md(summary(failure.problems))},
                )
                raise Failure(
                    description="Indicateurs incohérents, rien n'est écrit ni publié : "
                    + " ; ".join(p.message for p in failure.problems),
                    allow_retries=False,
                ) from None
            results = run_indicator_checks(connection, unit)
            record_checks(connection, unit.source_id, "indicateurs", results)
            connection.commit()
            identifiers = sorted(
                {r[0] for r in connection.execute("SELECT DISTINCT indicator_id FROM computed_values").fetchall()}
            )
            preview = connection.sql(
                "SELECT * FROM computed_values WHERE territory_level IN ('departement', 'region') LIMIT 20"
            ).pl()
            schema = TableSchema(columns=[TableColumn(n, str(t)) for n, t in zip(values.columns, values.types)])
        yield MaterializeResult(
            metadata={
                "dagster/row_count": count,
                "dagster/column_schema": schema,
                "indicateurs": MetadataValue.json(identifiers),
                **({"mois_recalcules": f"{months[0]:%Y-%m} à {months[1]:%Y-%m}"} if months else {}),
                "apercu": MetadataValue.md(markdown(preview)),
            }
        )
        yield AssetCheckResult(check_name=COHERENCE_CHECK, passed=True, metadata={"valeurs": count})
        yield from check_results(results, [c.name for c in indicator_checks])

    return source_indicators


# --- shared helpers --------------------------------------------------------------------------------


def check_results(results: list[dict], check_names: list[str]) -> list[AssetCheckResult]:
    """One Dagster check result per declared check, failing where any audit row failed."""
    outcomes = []
    for name in check_names:
        rows = [r for r in results if r["check_name"] == name]
        failed = [r for r in rows if not r["passed"]]
        outcomes.append(
            AssetCheckResult(
                check_name=name,
                passed=not failed,
                severity=AssetCheckSeverity.ERROR
                if any(r["severity"] == "erreur" for r in failed)
                else AssetCheckSeverity.WARN,
                metadata={
                    "evalues": len(rows),
                    "en_echec": len(failed),
                    "messages": MetadataValue.md(
                        "\n\n".join(f"```\n{r['message']}\n```" for r in failed) or "aucun échec"
                    ),
                },
            )
        )
    return outcomes


def markdown(frame: pl.DataFrame) -> str:
    """A small markdown table for the Dagster UI (no pandas on this path)."""
    if frame.height == 0:
        return "(vide)"
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * frame.width
    body = [
        "| " + " | ".join("" if v is None else str(v).replace("|", "/") for v in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([header, rule, *body])
