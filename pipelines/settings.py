"""Where things live and how large an upload may be: one settings object for the whole project.

Every path comes from an environment variable with a default relative to the project root, so
the same code serves the CLI, the Dagster code location, the tests and the benchmarks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.territory import SARTHE, Territory

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse_path: Path
    reference_dir: Path
    territory: Territory = SARTHE  # the territory in scope (pipelines/territory.py)
    # Limits that keep a hostile upload from exhausting memory or time.
    max_upload_bytes: int = 200 * 1024**2
    max_uncompressed_bytes: int = 400 * 1024**2
    max_compression_ratio: float = 150.0
    max_zip_entries: int = 2_000
    max_rows: int = 2_000_000
    # Published versions kept beside the warehouse for rollback.
    kept_versions: int = 3
    # On-disk format of the published file: v1.2.0 is readable by DuckDB 1.2 and later (DBeaver,
    # R and ODBC drivers often lag behind the Python package that writes it).
    storage_version: str = "v1.2.0"

    @property
    def build_dir(self) -> Path:
        """The pipeline's private working copy; analysts never open it."""
        return self.warehouse_path.parent / ".build"

    @property
    def working_database(self) -> Path:
        return self.build_dir / "working.duckdb"

    @property
    def versions_dir(self) -> Path:
        return self.warehouse_path.parent / "versions"

    def with_paths(self, raw_dir: Path | None = None, warehouse_path: Path | None = None) -> Settings:
        return replace(
            self,
            raw_dir=Path(raw_dir).resolve() if raw_dir else self.raw_dir,
            warehouse_path=Path(warehouse_path).resolve() if warehouse_path else self.warehouse_path,
        )


def load_settings() -> Settings:
    """Settings from the environment (ESANTE_RAW_DIR, ESANTE_WAREHOUSE, ESANTE_REFERENCE_DIR,
    ESANTE_TERRITOIRE, ESANTE_STORAGE_VERSION)."""

    def path(variable: str, default: Path) -> Path:
        value = os.environ.get(variable)
        return Path(value).resolve() if value else default

    return Settings(
        raw_dir=path("ESANTE_RAW_DIR", PROJECT_ROOT / "raw"),
        warehouse_path=path("ESANTE_WAREHOUSE", PROJECT_ROOT / "warehouse" / "esante.duckdb"),
        reference_dir=path("ESANTE_REFERENCE_DIR", PROJECT_ROOT / "reference"),
        territory=Territory.parse(os.environ.get("ESANTE_TERRITOIRE") or os.environ.get("ESANTE_DEPARTEMENT") or "72"),
        storage_version=os.environ.get("ESANTE_STORAGE_VERSION", "v1.2.0"),
    )
