"""Assets every source shares: the reference tables and the published warehouse."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetSpec, Failure, MaterializeResult, MetadataValue, asset, multi_asset

from pipelines.contract.unit import SourceUnit
from pipelines.orchestration.keys import PUBLICATION_KEY, kpi_key, reference_key
from pipelines.orchestration.resources import ProjectResource, WarehouseResource
from pipelines.reference.tables import ReferenceTable
from pipelines.warehouse.indicators import refresh_views, replace_catalogue
from pipelines.warehouse.publication import DiskFull, ensure_free_space, is_disk_full, publish
from pipelines.warehouse.staging import load_reference_tables, loaded_reference


def reference_asset(tables: list[ReferenceTable]):
    """The reference tables, loaded together in one step (one transaction), and only when their files
    or the territory changed: they change together, and reloading them would mark every source stale."""

    @multi_asset(
        specs=[
            AssetSpec(
                reference_key(table.name),
                group_name="reference",
                kinds={"duckdb", "csv"},
                description=f"{table.description} Fichier : reference/{table.file} (provenance : reference/SOURCES.md).",
            )
            for table in tables
        ],
        can_subset=True,
    )
    def reference_tables(
        context: AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> Iterator[MaterializeResult]:
        selected = [t.name for t in tables if reference_key(t.name) in context.selected_asset_keys]
        reference = project.reference()
        with warehouse.connection() as connection:
            unchanged = loaded_reference(connection) == reference.fingerprint()
            connection.begin()
            rows = {} if unchanged else load_reference_tables(connection, reference, selected)
            connection.commit()
        for name in selected:
            yield MaterializeResult(
                asset_key=reference_key(name),
                metadata={"dagster/row_count": rows[name]} if name in rows else {"statut": "inchangé"},
            )

    return reference_tables


def publication_asset(units: list[SourceUnit], tables: list[ReferenceTable]):
    @asset(
        key=PUBLICATION_KEY,
        group_name="publication",
        kinds={"duckdb"},
        deps=[*(kpi_key(u) for u in units), *(reference_key(t.name) for t in tables)],
        description="L'entrepôt publié (warehouse/esante.duckdb, lien vers la version du jour dans "
        "warehouse/versions/) : catalogue des indicateurs et vues françaises à jour, copie vérifiée de la base "
        "de travail, mise en place d'un bloc. Les analystes l'ouvrent en lecture seule.",
    )
    def published_warehouse(
        context: AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> MaterializeResult:
        settings = project.settings()
        try:
            ensure_free_space(settings.build_dir, 0, "la mise à jour de la base de travail")
            with warehouse.connection() as connection:
                connection.begin()
                catalogue = replace_catalogue(connection, units)
                refresh_views(connection)
                connection.commit()
            publication = publish(settings, context.run.run_id)
        except DiskFull as full:
            raise Failure(description=str(full), allow_retries=False) from None
        except Exception as error:
            if is_disk_full(error):
                raise Failure(
                    description=f"Disque plein ({settings.warehouse_path.parent}) : libérez de la place "
                    "puis relancez ; l'entrepôt publié reste celui d'avant.",
                    allow_retries=False,
                ) from None
            raise
        for note in publication.notes:
            context.log.warning(note)
        return MaterializeResult(
            metadata={
                "chemin": MetadataValue.path(str(settings.warehouse_path)),
                "version": MetadataValue.path(str(publication.path)),
                "taille_octets": publication.size,
                "indicateurs": catalogue,
                "valeurs": publication.digest["indicator_values"],
                "fichiers_traites": len(publication.processed),
                "remarques": MetadataValue.json(publication.notes),
            }
        )

    return published_warehouse
