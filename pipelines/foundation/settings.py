"""Where things live and how much an upload may cost: one settings object for the whole project.

Every value comes from an environment variable with a default relative to the project root, so
the same code serves the CLI, the Dagster code location, the portal, the tests and the
benchmarks. The Dagster resource wraps this object (it carries only the overriding variables).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# On-disk format of the published file: v1.2.0 is readable by DuckDB 1.2 and later (DBeaver, R and
# ODBC drivers often lag behind the Python package that writes it).
ANALYST_STORAGE_VERSION = "v1.2.0"


@dataclass(frozen=True)
class Limits:
    """What one upload may cost: a hostile or broken file is rejected within these bounds."""

    max_upload_bytes: int = 200 * 1024**2
    max_uncompressed_bytes: int = 400 * 1024**2
    max_compression_ratio: float = 150.0
    max_zip_entries: int = 2_000
    max_rows: int = 2_000_000
    # the child process that parses one upload (pipelines/validation/isolation.py)
    parse_memory_bytes: int = 3 * 1024**3
    parse_seconds: int = 300
    # the annotated copy of a rejected workbook: past these, the text report alone is written
    annotated_cells: int = 5_000
    annotated_sheet_cells: int = 2_000_000  # rows x columns of the sheet read back by openpyxl
    max_sheet_cells: int = 20_000_000  # a sheet reaching further (a stray cell at XFD1048576) is not read

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Limits:
        """ESANTE_MAX_UPLOAD_MB, ESANTE_PARSE_MEMORY_MB, ESANTE_PARSE_SECONDS override the defaults."""
        limits = cls()
        overrides = {}
        if env.get("ESANTE_MAX_UPLOAD_MB"):
            overrides["max_upload_bytes"] = int(env["ESANTE_MAX_UPLOAD_MB"]) * 1024**2
        if env.get("ESANTE_PARSE_MEMORY_MB"):
            overrides["parse_memory_bytes"] = int(env["ESANTE_PARSE_MEMORY_MB"]) * 1024**2
        if env.get("ESANTE_PARSE_SECONDS"):
            overrides["parse_seconds"] = int(env["ESANTE_PARSE_SECONDS"])
        return replace(limits, **overrides)


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse_path: Path
    reference_dir: Path
    territory_code: str = "72"  # pipelines/reference/territory.py: 72, region:52 or france
    storage_version: str = ANALYST_STORAGE_VERSION
    kept_versions: int = 3  # published versions kept beside the warehouse for rollback
    portal_dir: Path = PROJECT_ROOT / "portail"
    dagster_home: Path = PROJECT_ROOT  # holds dagster.yaml; the instance stores everything in .dagster/ under it
    dagster_pg_url: str | None = None  # the instance on PostgreSQL (production); None: SQLite in dagster_home
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> Settings:
        """ESANTE_RAW_DIR, ESANTE_WAREHOUSE, ESANTE_REFERENCE_DIR, ESANTE_TERRITOIRE, ESANTE_STORAGE_VERSION,
        ESANTE_PORTAIL_DIR, DAGSTER_HOME, ESANTE_DAGSTER_PG_URL."""
        env = os.environ if environment is None else environment

        def path(variable: str, default: Path) -> Path:
            value = env.get(variable)
            return absolute(value) if value else default

        return cls(
            raw_dir=path("ESANTE_RAW_DIR", PROJECT_ROOT / "raw"),
            warehouse_path=path("ESANTE_WAREHOUSE", PROJECT_ROOT / "warehouse" / "esante.duckdb"),
            reference_dir=path("ESANTE_REFERENCE_DIR", PROJECT_ROOT / "reference"),
            territory_code=env.get("ESANTE_TERRITOIRE") or "72",
            storage_version=env.get("ESANTE_STORAGE_VERSION") or ANALYST_STORAGE_VERSION,
            portal_dir=path("ESANTE_PORTAIL_DIR", PROJECT_ROOT / "portail"),
            dagster_home=path("DAGSTER_HOME", PROJECT_ROOT),
            dagster_pg_url=env.get("ESANTE_DAGSTER_PG_URL") or None,
            limits=Limits.from_environment(env),
        )

    def as_environment(self) -> dict[str, str]:
        """The variables that give these settings back (for a resource, a subprocess, the daemon)."""
        environment = {
            "ESANTE_RAW_DIR": str(self.raw_dir),
            "ESANTE_WAREHOUSE": str(self.warehouse_path),
            "ESANTE_REFERENCE_DIR": str(self.reference_dir),
            "ESANTE_TERRITOIRE": self.territory_code,
            "ESANTE_STORAGE_VERSION": self.storage_version,
            "ESANTE_PORTAIL_DIR": str(self.portal_dir),
            "DAGSTER_HOME": str(self.dagster_home),
        }
        if self.dagster_pg_url:
            environment["ESANTE_DAGSTER_PG_URL"] = self.dagster_pg_url
        defaults = Limits()
        if self.limits.max_upload_bytes != defaults.max_upload_bytes:
            environment["ESANTE_MAX_UPLOAD_MB"] = str(self.limits.max_upload_bytes // 1024**2)
        if self.limits.parse_memory_bytes != defaults.parse_memory_bytes:
            environment["ESANTE_PARSE_MEMORY_MB"] = str(self.limits.parse_memory_bytes // 1024**2)
        if self.limits.parse_seconds != defaults.parse_seconds:
            environment["ESANTE_PARSE_SECONDS"] = str(self.limits.parse_seconds)
        return environment

    def with_paths(self, raw_dir: Path | None = None, warehouse_path: Path | None = None) -> Settings:
        return replace(
            self,
            raw_dir=absolute(raw_dir) if raw_dir else self.raw_dir,
            warehouse_path=absolute(warehouse_path) if warehouse_path else self.warehouse_path,
        )

    # --- derived places -----------------------------------------------------------------------

    @property
    def build_dir(self) -> Path:
        """The pipeline's private working area beside the published file; analysts never open it."""
        return self.warehouse_path.parent / ".build"

    @property
    def working_database(self) -> Path:
        return self.build_dir / "working.duckdb"

    @property
    def ledger_dir(self) -> Path:
        """Validated uploads, one entry per content (pipelines/validation/ledger.py)."""
        return self.build_dir / "uploads"

    @property
    def versions_dir(self) -> Path:
        return self.warehouse_path.parent / "versions"

    @property
    def reports_dir(self) -> Path:
        """The committee pack, rebuilt at each publication."""
        return self.warehouse_path.parent / "rapports"


def absolute(path: str | Path) -> Path:
    """An absolute path that keeps its last name: the published warehouse is a link, never followed here."""
    return Path(os.path.abspath(path))


def load_settings() -> Settings:
    return Settings.from_environment()


# What dagster.yaml names as its storage (the choice between SQLite and PostgreSQL).
DAGSTER_STORAGE_CLASS = "pipelines.orchestration.instance"


def prepare_dagster_home(settings: Settings) -> dict[str, str]:
    """The environment every Dagster process of the project runs with (`esante run`, `esante ui`, the
    services, the tests): the instance in DAGSTER_HOME, which gets the project's dagster.yaml if it
    has none, its storage in DAGSTER_HOME/.dagster (or on PostgreSQL when ESANTE_DAGSTER_PG_URL is set:
    pipelines/orchestration/instance.py), no telemetry."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    configuration = home / "dagster.yaml"
    if not configuration.exists():
        configuration.write_bytes((PROJECT_ROOT / "dagster.yaml").read_bytes())
    if settings.dagster_pg_url and DAGSTER_STORAGE_CLASS not in configuration.read_text(encoding="utf-8"):
        # an older copy would keep the instance on SQLite and silently ignore the setting
        raise RuntimeError(
            f"ESANTE_DAGSTER_PG_URL est défini, mais {configuration} ne le lit pas (copie d'une version "
            f"antérieure du projet) : remplacez ce fichier par {PROJECT_ROOT / 'dagster.yaml'} (reportez-y vos "
            "modifications éventuelles), puis relancez."
        )
    return {
        **settings.as_environment(),
        "DAGSTER_STORAGE_DIR": str(home / ".dagster"),
        "DAGSTER_COMPUTE_LOGS_DIR": str(home / ".dagster" / "compute_logs"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
