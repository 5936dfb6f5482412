"""Reference data shipped with the project (INSEE COG, FINESS), see reference/SOURCES.md.

The same CSV files feed the `ref` schema of the warehouse and the stewards' checks, so
`esante validate` needs neither Dagster nor a warehouse. The tables every source may use are
here; a source that needs one of its own declares it in its unit (the CARE scope, for instance),
and `ReferenceData` is given the whole list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.reference.territory import Geography, Territory, finess_departement

# French descriptions of the reference columns; they become DuckDB column comments and UI descriptions.
COLUMN_DESCRIPTIONS = {
    # INSEE COG (communes, EPCI, départements, régions)
    "code_insee": "Code officiel géographique (INSEE) de la commune.",
    "nom": "Nom (commune, département ou région).",
    "code": "Code INSEE du département ou de la région.",
    "zone": "Zone : metro (métropole), drom (outre-mer), com (collectivité d'outre-mer).",
    "siren_commune": "SIREN de la commune.",
    "codes_postaux": "Codes postaux de la commune.",
    "arrondissement": "Code de l'arrondissement.",
    "departement": "Code du département (pour un établissement : déduit de son numéro FINESS, 971 à 976 outre-mer).",
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
    "nb_communes_72": "Nombre de communes membres situées dans le territoire de l'entrepôt.",
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
    "ville": "Ville.",
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
DEFAULT_DESCRIPTION = "Colonne du fichier de référence (voir reference/SOURCES.md)."


@dataclass(frozen=True)
class Scope:
    """What a table is cut to: the territory of the warehouse, its geography and where the files are."""

    territory: Territory
    geography: Geography

    def includes(self, departement: pl.Expr, region: pl.Expr | None = None) -> pl.Expr:
        return self.territory.includes(
            departement, region if region is not None else self.geography.region_of(departement)
        )


@dataclass(frozen=True)
class NationalFile:
    """Where a table comes from when the territory is not the Sarthe: a national file, cut to the
    territory and shaped like the Sarthe file (columns the national file lacks are empty)."""

    file: str
    shape: Callable[[pl.DataFrame, Scope], pl.DataFrame]


@dataclass(frozen=True)
class ReferenceTable:
    name: str  # table in the `ref` schema
    file: str  # file in the reference folder (the Sarthe's, or a table that does not depend on the territory)
    description: str  # French, becomes the table comment
    integer_columns: tuple[str, ...] = ()
    national: NationalFile | None = None
    column_descriptions: dict[str, str] = field(default_factory=dict)  # beyond COLUMN_DESCRIPTIONS

    def files(self, territory: Territory) -> list[str]:
        national = self.national is not None and not _is_sarthe(territory)
        return [self.file, *([self.national.file] if national else [])]

    def read(self, reference_dir: Path, scope: Scope) -> pl.DataFrame:
        local = pl.read_csv(reference_dir / self.file, infer_schema=False)
        if self.national is not None and not _is_sarthe(scope.territory):
            shaped = self.national.shape(pl.read_csv(reference_dir / self.national.file, infer_schema=False), scope)
            local = shaped.select(
                pl.col(c) if c in shaped.columns else pl.lit(None, dtype=pl.String).alias(c) for c in local.columns
            )
        if "nofinesset" in local.columns:  # one rule for the département of an establishment
            local = local.with_columns(departement=finess_departement(pl.col("nofinesset")))
        return local.with_columns(pl.col(c).cast(pl.Int64) for c in self.integer_columns)

    def describe(self, column: str) -> str:
        return self.column_descriptions.get(column) or COLUMN_DESCRIPTIONS.get(column, DEFAULT_DESCRIPTION)


def _is_sarthe(territory: Territory) -> bool:
    return territory.level == "departement" and territory.code == "72"


def communes_of(france: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """cog2025_communes_france.csv cut to the territory, named like cog2025_communes_72.csv."""
    return france.filter(scope.includes(pl.col("departement"), pl.col("region"))).rename(
        {"population_municipale": "population_municipale_pl2023"}
    )


def epci_of(france: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """EPCI with at least one commune in the territory, from the communes of France."""
    inside = scope.includes(pl.col("departement"), pl.col("region"))
    return (
        france.filter(pl.col("epci_siren").is_not_null())
        .group_by("epci_siren", "epci_nom")
        .agg(nb_communes_total=pl.len(), nb_communes_72=inside.sum())
        .filter(pl.col("nb_communes_72") > 0)
        .with_columns(pl.col("nb_communes_total", "nb_communes_72").cast(pl.String))
        .sort("epci_siren")
    )


def pharmacies_of(france: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """finess_pharmacies_france_stock20210108.csv cut to the territory (its commune is not known)."""
    departement = finess_departement(pl.col("nofinesset"))
    return france.filter(scope.includes(departement)).with_columns(
        libcategetab=pl.lit("Pharmacie d'Officine"), ville_acheminement=pl.col("ville")
    )


SHARED_TABLES: tuple[ReferenceTable, ...] = (
    ReferenceTable(
        "commune",
        "cog2025_communes_72.csv",
        "Communes du territoire de l'entrepôt (COG 2025) avec leur EPCI et leur population municipale légale 2023.",
        ("population_municipale_pl2023", "population_municipale_pl2022_dgcl", "population_totale_pl2022_dgcl"),
        national=NationalFile("cog2025_communes_france.csv", communes_of),
    ),
    ReferenceTable(
        "epci",
        "cog2025_epci_72.csv",
        "EPCI comptant au moins une commune du territoire de l'entrepôt (COG 2025, populations DGCL 2022).",
        ("nb_communes_total", "nb_communes_72", "population_municipale_pl2022_dgcl", "population_totale_pl2022_dgcl"),
        national=NationalFile("cog2025_communes_france.csv", epci_of),
    ),
    ReferenceTable(
        "finess_et",
        "finess_et_72_stock20210108.csv",
        "Établissements FINESS (ET) du territoire de l'entrepôt (la Sarthe : toutes catégories ; ailleurs : les "
        "officines), extraction du 8 janvier 2021, avec le département déduit du numéro.",
        national=NationalFile("finess_pharmacies_france_stock20210108.csv", pharmacies_of),
    ),
    ReferenceTable(
        "finess_categorie",
        "finess_categories_stock20210108.csv",
        "Nomenclature des catégories FINESS observées (catégorie et agrégat), avec effectifs France et Sarthe.",
        ("nb_et_france", "nb_et_72"),
    ),
    ReferenceTable(
        "departement",
        "cog2025_departements.csv",
        "Départements de France (COG 2025) : code, nom, région.",
    ),
    ReferenceTable(
        "region",
        "cog2025_regions.csv",
        "Régions de France (COG 2025) : code et nom.",
    ),
    ReferenceTable(
        "feuille_de_route",
        "feuille_de_route_2025_2026.csv",
        "Chiffres publiés par la feuille de route e-santé Sarthe 2025-2026 (constats et cibles), tels qu'écrits, "
        "avec leur indicateur, leur territoire, leur date et l'endroit du document : le dossier du comité les "
        "place à côté des valeurs de l'entrepôt.",
        ("objective", "numerator", "denominator"),
        column_descriptions={
            "indicator_id": "Indicateur de l'entrepôt auquel le chiffre se rapporte (kpi.indicator).",
            "objective": "Numéro de l'objectif de la feuille de route (1 à 8).",
            "territory_level": "Niveau territorial du chiffre : region, departement, epci ou commune.",
            "territory_code": "Code du territoire du chiffre (72 = Sarthe, 52 = Pays de la Loire).",
            "segment": "Segment de l'indicateur (vide = ensemble), comme dans kpi.indicator_value.",
            "period": "Date du chiffre (AAAA-MM-JJ : premier jour du mois, jour d'un état ou d'un événement) ; vide "
            "quand le document ne la donne pas.",
            "period_grain": "Ce que désigne la date : mois, date (un jour), trimestre ou annee.",
            "nature": "constat (chiffre observé publié) ou objectif (cible fixée par la feuille de route).",
            "numerator": "Numérateur publié (entier), s'il l'est.",
            "denominator": "Dénominateur publié (entier), s'il l'est.",
            "value": "Valeur publiée, point décimal (un taux entre 0 et 1 : 0.69 pour 69 %) ; vide si le document "
            "n'en donne pas de lisible.",
            "unit": "Unité de la valeur (taux, nombre, par habitant, moyenne).",
            "published_text": "Texte du document tel que publié.",
            "document": "Document source.",
            "section": "Partie du document (objectif et encadré) où le chiffre est publié.",
            "note": "Remarque sur la lecture du chiffre (incohérence, lecture ambiguë).",
        },
    ),
)


class ReferenceData:
    """Reference frames for the territory in scope, each read once on first use."""

    def __init__(
        self, reference_dir: Path, territory: str | Territory = "72", tables: Sequence[ReferenceTable] = SHARED_TABLES
    ):
        self.reference_dir = Path(reference_dir)
        self.geography = Geography.load(self.reference_dir)
        self.territory = territory if isinstance(territory, Territory) else Territory.parse(territory, self.geography)
        self.scope = Scope(self.territory, self.geography)
        self.tables = {t.name: t for t in tables}
        self._frames: dict[str, pl.DataFrame] = {}

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._frames:
            self._frames[name] = self.tables[name].read(self.reference_dir, self.scope)
        return self._frames[name]

    def fingerprint(self) -> str:
        """Changes when a file behind any table, or the territory, changes: reference tables are
        reloaded only then."""
        digest = hashlib.sha256(str(self.territory).encode())
        for spec in sorted(self.tables.values(), key=lambda t: t.name):
            digest.update(repr((spec.name, spec.integer_columns, spec.national and spec.national.file)).encode())
            for name in spec.files(self.territory):
                path = self.reference_dir / name
                stat = path.stat()
                digest.update(_content_digest(str(path), stat.st_size, stat.st_mtime_ns).encode())
        return digest.hexdigest()[:16]


@cache
def _content_digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
