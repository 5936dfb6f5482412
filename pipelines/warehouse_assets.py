"""Assets shared by every source: reference tables, the indicator catalogue, the publication."""


from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, asset, multi_asset

from pipelines.reference import REFERENCE_TABLES
from pipelines.resources import WarehouseResource
from pipelines.source import SourceUnit
from pipelines.source_assets import WAREHOUSE_POOL, kpi_key
from pipelines.warehouse import load_reference_table, publish, replace_catalogue

CATALOGUE_KEY = AssetKey(["kpi", "indicator"])
PUBLICATION_KEY = AssetKey(["warehouse", "esante"])


def build_reference_assets():
    """One asset per reference table, loaded together in one step (one transaction): they change
    together, and a step per table would cost more in orchestration than the loading itself."""

    @multi_asset(
        specs=[
            AssetSpec(
                AssetKey(["ref", table.name]),
                group_name="reference",
                kinds={"duckdb", "csv"},
                description=f"{table.description} Fichier : reference/{table.file} (provenance : reference/SOURCES.md).",
            )
            for table in REFERENCE_TABLES
        ],
        pool=WAREHOUSE_POOL,
        can_subset=True,
    )
    def reference_tables(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
        selected = [t for t in REFERENCE_TABLES if AssetKey(["ref", t.name]) in context.selected_asset_keys]
        reference = warehouse.reference()
        with warehouse.working() as connection:
            connection.begin()
            rows = {t.name: load_reference_table(connection, t.name, reference) for t in selected}
            connection.commit()
        for table in selected:
            yield MaterializeResult(
                asset_key=AssetKey(["ref", table.name]),
                metadata={"dagster/row_count": rows[table.name], "fichier": table.file},
            )

    return reference_tables


def build_catalogue_asset(units: list[SourceUnit]):
    @asset(
        key=CATALOGUE_KEY,
        group_name="publication",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description="Catalogue des indicateurs (libellés français, objectif de la feuille de route, définition).",
    )
    def indicator_catalogue(warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.working() as connection:
            rows = replace_catalogue(connection, units)
        return MaterializeResult(metadata={"dagster/row_count": rows})

    return indicator_catalogue


def build_publication_asset(units: list[SourceUnit]):
    @asset(
        key=PUBLICATION_KEY,
        group_name="publication",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        deps=[CATALOGUE_KEY, *(kpi_key(u) for u in units), *(AssetKey(["ref", t.name]) for t in REFERENCE_TABLES)],
        description="L'entrepôt publié (warehouse/esante.duckdb) : copie atomique de la base de travail, "
        "ouverte en lecture par les analystes.",
    )
    def published_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        path = publish(warehouse.settings())
        context.log.info(f"Entrepôt publié : {path}")
        return MaterializeResult(
            metadata={"chemin": MetadataValue.path(str(path)), "taille_octets": path.stat().st_size}
        )

    return published_warehouse
