"""Reference data shipped with the project (INSEE COG, FINESS), see reference/SOURCES.md.

The same CSV files feed the `ref` schema of the warehouse and the stewards' pre-flight check,
so `esante validate` needs neither Dagster nor a warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class ReferenceTable:
    name: str  # table in the `ref` schema
    file: str  # file in the reference folder
    description: str  # French, becomes the table comment
    integer_columns: tuple[str, ...] = ()

    def read(self, reference_dir: Path) -> pl.DataFrame:
        frame = pl.read_csv(reference_dir / self.file, infer_schema=False)
        return frame.with_columns(pl.col(c).cast(pl.Int64) for c in self.integer_columns)


REFERENCE_TABLES = (
    ReferenceTable(
        "commune",
        "cog2025_communes_72.csv",
        "Communes de la Sarthe (COG 2025) avec leur EPCI et leur population municipale légale 2023.",
        ("population_municipale_pl2023", "population_municipale_pl2022_dgcl", "population_totale_pl2022_dgcl"),
    ),
    ReferenceTable(
        "epci",
        "cog2025_epci_72.csv",
        "EPCI comptant au moins une commune de la Sarthe (COG 2025, populations DGCL 2022).",
        ("nb_communes_total", "nb_communes_72", "population_municipale_pl2022_dgcl", "population_totale_pl2022_dgcl"),
    ),
    ReferenceTable(
        "finess_et",
        "finess_et_72_stock20210108.csv",
        "Établissements FINESS (ET) de la Sarthe, toutes catégories, extraction du 8 janvier 2021.",
    ),
    ReferenceTable(
        "finess_sante_pdl",
        "finess_etab_sante_pdl_stock20210108.csv",
        "Établissements de santé des Pays de la Loire (FINESS, 8 janvier 2021), périmètre du programme CARE.",
    ),
    ReferenceTable(
        "finess_categorie",
        "finess_categories_stock20210108.csv",
        "Nomenclature des catégories FINESS observées (catégorie et agrégat), avec effectifs France et Sarthe.",
        ("nb_et_france", "nb_et_72"),
    ),
)


class ReferenceData:
    """Reference frames, each read once on first use."""

    def __init__(self, reference_dir: Path, departement: str = "72"):
        self.reference_dir = reference_dir
        self.departement = departement
        self._frames: dict[str, pl.DataFrame] = {}

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._frames:
            spec = next(t for t in REFERENCE_TABLES if t.name == name)
            self._frames[name] = spec.read(self.reference_dir)
        return self._frames[name]
