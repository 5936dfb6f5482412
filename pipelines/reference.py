"""Reference data shipped with the project (INSEE COG, FINESS), see reference/SOURCES.md.

The same CSV files feed the `ref` schema of the warehouse and the stewards' pre-flight check,
so `esante validate` needs neither Dagster nor a warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.territory import SARTHE, Territory, finess_departement, region_of


# French descriptions of the reference columns; they become DuckDB column comments.
COLUMN_DESCRIPTIONS = {
    # INSEE COG (communes, EPCI)
    "code_insee": "Code officiel géographique (INSEE) de la commune.",
    "nom": "Nom de la commune.",
    "siren_commune": "SIREN de la commune.",
    "codes_postaux": "Codes postaux de la commune.",
    "arrondissement": "Code de l'arrondissement.",
    "departement": "Code du département.",
    "region": "Code de la région (52 = Pays de la Loire).",
    "population_municipale_pl2023": "Population municipale légale 2023 (en vigueur au 1er janvier 2026).",
    "population_municipale_pl2022_dgcl": "Population municipale légale 2022 (fichier DGCL).",
    "population_totale_pl2022_dgcl": "Population totale légale 2022 (fichier DGCL).",
    "epci_siren": "SIREN de l'EPCI (intercommunalité) de rattachement.",
    "epci_nom": "Nom de l'EPCI.",
    "epci_type": "Type d'EPCI (CU, CA, CC).",
    "epci_mode_financement": "Mode de financement de l'EPCI (FPU, FA).",
    "mode_financement": "Mode de financement de l'EPCI (FPU, FA).",
    "nb_communes_total": "Nombre de communes membres de l'EPCI.",
    "nb_communes_72": "Nombre de communes membres situées en Sarthe.",
    "communes_hors_72": "Communes membres hors Sarthe.",
    # FINESS
    "nofinesset": "Numéro FINESS de l'établissement (ET, géographique).",
    "nofinessej": "Numéro FINESS de l'entité juridique (EJ) gestionnaire.",
    "rs": "Raison sociale.",
    "categetab": "Code de catégorie FINESS de l'établissement (620 = pharmacie d'officine).",
    "libcategetab": "Libellé de la catégorie FINESS.",
    "categagretab": "Code de l'agrégat de catégories FINESS.",
    "libcategagretab": "Libellé de l'agrégat de catégories.",
    "codesph": "Code du mode de participation au service public hospitalier.",
    "libsph": "Libellé du mode de participation au service public hospitalier.",
    "codeape": "Code APE (activité principale).",
    "siret": "Numéro SIRET.",
    "adresse": "Adresse postale.",
    "code_postal": "Code postal.",
    "ville_acheminement": "Ville d'acheminement du courrier.",
    "code_insee_derive": "Code INSEE de la commune, déduit de la ville ou du code postal (COG 2025).",
    "telephone": "Téléphone de l'établissement (donnée publique du répertoire).",
    "dateouv": "Date d'ouverture.",
    "datemaj": "Date de dernière mise à jour dans le répertoire.",
    "latitude": "Latitude (WGS84).",
    "longitude": "Longitude (WGS84).",
    "nb_et_france": "Nombre d'établissements de la catégorie en France (2021).",
    "nb_et_72": "Nombre d'établissements de la catégorie en Sarthe (2021).",
}


@dataclass(frozen=True)
class NationalFile:
    """Where a table comes from when the territory is not the Sarthe: a national file, cut to the
    territory and shaped like the Sarthe file (columns the national file lacks are empty)."""

    file: str
    shape: Callable[[pl.DataFrame, Territory], pl.DataFrame]


@dataclass(frozen=True)
class ReferenceTable:
    name: str  # table in the `ref` schema
    file: str  # file in the reference folder (the Sarthe's, or a table that does not depend on the territory)
    description: str  # French, becomes the table comment
    integer_columns: tuple[str, ...] = ()
    national: NationalFile | None = None

    def read(self, reference_dir: Path, territory: Territory = SARTHE) -> pl.DataFrame:
        local = pl.read_csv(reference_dir / self.file, infer_schema=False)
        if self.national is not None and territory != SARTHE:
            shaped = self.national.shape(pl.read_csv(reference_dir / self.national.file, infer_schema=False), territory)
            local = shaped.select(
                pl.col(c) if c in shaped.columns else pl.lit(None, dtype=pl.String).alias(c) for c in local.columns
            )
        return local.with_columns(pl.col(c).cast(pl.Int64) for c in self.integer_columns)


def communes_of(france: pl.DataFrame, territory: Territory) -> pl.DataFrame:
    """cog2025_communes_france.csv cut to the territory, named like cog2025_communes_72.csv."""
    return france.filter(territory.includes(pl.col("departement"), pl.col("region"))).rename(
        {"population_municipale": "population_municipale_pl2023"})


def epci_of(france: pl.DataFrame, territory: Territory) -> pl.DataFrame:
    """EPCI with at least one commune in the territory, from the communes of France."""
    inside = territory.includes(pl.col("departement"), pl.col("region"))
    return (
        france.filter(pl.col("epci_siren").is_not_null())
        .group_by("epci_siren", "epci_nom")
        .agg(nb_communes_total=pl.len(), nb_communes_72=inside.sum())
        .filter(pl.col("nb_communes_72") > 0)
        .with_columns(pl.col("nb_communes_total", "nb_communes_72").cast(pl.String))
        .sort("epci_siren")
    )


def pharmacies_of(france: pl.DataFrame, territory: Territory) -> pl.DataFrame:
    """finess_pharmacies_france_stock20210108.csv cut to the territory (its commune is not known;
    FINESS has no région: the région of its département)."""
    departement = finess_departement(pl.col("nofinesset"))
    return france.filter(territory.includes(departement)).with_columns(
        libcategetab=pl.lit("Pharmacie d'Officine"), ville_acheminement=pl.col("ville"))


def health_establishments_of(france: pl.DataFrame, territory: Territory) -> pl.DataFrame:
    """finess_etab_sante_france_stock20210108.csv cut to the CARE scope: the région of the territory
    (CARE is a regional programme), or all of France; overseas départements by their three digits."""
    departement = finess_departement(pl.col("nofinesset"))
    return france.with_columns(departement=departement).filter(
        territory.regional().includes(pl.col("departement"), region_of(pl.col("departement"))))


REFERENCE_TABLES = (
    ReferenceTable(
        "commune",
        "cog2025_communes_72.csv",
        "Communes de la Sarthe (COG 2025) avec leur EPCI et leur population municipale légale 2023.",
        ("population_municipale_pl2023", "population_municipale_pl2022_dgcl", "population_totale_pl2022_dgcl"),
        national=NationalFile("cog2025_communes_france.csv", communes_of),
    ),
    ReferenceTable(
        "epci",
        "cog2025_epci_72.csv",
        "EPCI comptant au moins une commune de la Sarthe (COG 2025, populations DGCL 2022).",
        ("nb_communes_total", "nb_communes_72", "population_municipale_pl2022_dgcl", "population_totale_pl2022_dgcl"),
        national=NationalFile("cog2025_communes_france.csv", epci_of),
    ),
    ReferenceTable(
        "finess_et",
        "finess_et_72_stock20210108.csv",
        "Établissements FINESS (ET) de la Sarthe, toutes catégories, extraction du 8 janvier 2021.",
        national=NationalFile("finess_pharmacies_france_stock20210108.csv", pharmacies_of),
    ),
    ReferenceTable(
        "finess_sante_pdl",  # name kept for existing queries; the CARE scope follows the territory
        "finess_etab_sante_pdl_stock20210108.csv",
        "Établissements de santé du périmètre du programme CARE (FINESS, 8 janvier 2021) : la région du "
        "territoire (Pays de la Loire par défaut), ou la France entière.",
        national=NationalFile("finess_etab_sante_france_stock20210108.csv", health_establishments_of),
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

    def __init__(self, reference_dir: Path, territory: Territory = SARTHE):
        self.reference_dir = reference_dir
        self.territory = territory
        self._frames: dict[str, pl.DataFrame] = {}

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._frames:
            spec = next(t for t in REFERENCE_TABLES if t.name == name)
            self._frames[name] = spec.read(self.reference_dir, self.territory)
        return self._frames[name]
