"""Assets shared by every source: reference tables, the indicator catalogue, the publication."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.reference import REFERENCE_TABLES, ReferenceTable
from pipelines.resources import WarehouseResource
from pipelines.source import SourceUnit
from pipelines.source_assets import WAREHOUSE_POOL, kpi_key
from pipelines.warehouse import load_reference_table, publish, replace_catalogue

CATALOGUE_KEY = AssetKey(["kpi", "indicator"])
PUBLICATION_KEY = AssetKey(["warehouse", "esante"])


def build_reference_asset(table: ReferenceTable):
    @asset(
        key=AssetKey(["ref", table.name]),
        group_name="reference",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "csv"},
        description=f"{table.description} Fichier : reference/{table.file} (provenance : reference/SOURCES.md).",
    )
    def reference_asset(warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.working() as connection:
            rows = load_reference_table(connection, table.name, warehouse.reference())
        return MaterializeResult(metadata={"dagster/row_count": rows, "fichier": table.file})

    return reference_asset


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
