"""The one Dagster resource: where the raw uploads, the reference data and the warehouse live."""


from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from pipelines.reference import ReferenceData
from pipelines.territory import Territory
from pipelines.settings import Settings, load_settings
from pipelines.warehouse import WAREHOUSE_DDL, prepare_working_database


class WarehouseResource(ConfigurableResource):
    """Paths of the project; the working database is opened through dagster-duckdb (it retries on a lock)."""

    raw_dir: str
    warehouse_path: str
    reference_dir: str
    territory: str = "72"  # pipelines/territory.py: 72, region:52 or france
    storage_version: str = "v1.2.0"

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "WarehouseResource":
        settings = settings or load_settings()
        return cls(
            raw_dir=str(settings.raw_dir),
            warehouse_path=str(settings.warehouse_path),
            reference_dir=str(settings.reference_dir),
            territory=str(settings.territory),
            storage_version=settings.storage_version,
        )

    def settings(self) -> Settings:
        return Settings(
            raw_dir=Path(self.raw_dir),
            warehouse_path=Path(self.warehouse_path),
            reference_dir=Path(self.reference_dir),
            territory=Territory.parse(self.territory),
            storage_version=self.storage_version,
        )

    def reference(self) -> ReferenceData:
        return ReferenceData(Path(self.reference_dir), Territory.parse(self.territory))

    @contextmanager
    def working(self) -> Iterator[duckdb.DuckDBPyConnection]:
        settings = self.settings()
        with DuckDBResource(
            database=str(settings.working_database), connection_config=prepare_working_database(settings),
        ).get_connection() as connection:
            connection.execute(WAREHOUSE_DDL.read_text(encoding="utf-8"))
            yield connection
