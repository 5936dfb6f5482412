"""The territory in scope: the Sarthe by default, another département, a région, or all of France.

Set with ESANTE_TERRITOIRE: `72` (a département code), `region:52` (a région code) or `france`.
The same pipeline then serves a département, a région or the country: the reference tables in
`ref` hold the territory's communes and establishments, and rows outside it are reported and not
loaded. A regional programme (CARE) covers the région of the territory: `Territory.regional()`.

Names and the région of each département come from the reference files
(reference/cog2025_departements.csv, cog2025_regions.csv), never from a table in code.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

LEVELS = ("departement", "region", "france")


@dataclass(frozen=True)
class Geography:
    """Départements and régions of France (COG 2025): code -> name, and each département's région."""

    departements: dict[str, str]
    regions: dict[str, str]
    region_of_departement: dict[str, str]
    linking: dict[str, str]  # département -> "de la ", "du ", "de l'"... (COG: type de liaison)

    @classmethod
    def load(cls, reference_dir: Path) -> Geography:
        return _load(str(Path(reference_dir).resolve()))

    def name(self, level: str, code: str | None) -> str | None:
        if level == "departement":
            return self.departements.get(code or "")
        if level == "region":
            return self.regions.get(code or "")
        if level == "france":
            return "France"
        return None

    def region_of(self, departement: pl.Expr) -> pl.Expr:
        """Polars: the région of a département code (null for a code that is not a département)."""
        return departement.replace_strict(self.region_of_departement, default=None, return_dtype=pl.String)


@cache
def _load(reference_dir: str) -> Geography:
    folder = Path(reference_dir)
    with (folder / "cog2025_departements.csv").open(encoding="utf-8", newline="") as handle:
        departements = list(csv.DictReader(handle))
    with (folder / "cog2025_regions.csv").open(encoding="utf-8", newline="") as handle:
        regions = {row["code"]: row["nom"] for row in csv.DictReader(handle)}
    return Geography(
        departements={row["code"]: row["nom"] for row in departements},
        regions=regions,
        region_of_departement={row["code"]: row["region"] for row in departements},
        linking={row["code"]: LINKING.get(row["type_liaison"], "de ") for row in departements},
    )


# The COG's "type de liaison" (TNCC): how a name follows "département".
LINKING = {"0": "de ", "1": "d'", "2": "du ", "3": "de la ", "4": "des ", "5": "de l'"}


def finess_departement(finess: pl.Expr) -> pl.Expr:
    """Polars: the département of a FINESS number. Its first two characters (2A, 2B in Corsica);
    overseas, 970 and a digit (9701… is Guadeloupe, 971; 9704… La Réunion, 974), 975 and 976 as
    they are, and Mayotte's former 985 (976). reference/SOURCES.md, file 10."""
    return (
        pl.when(finess.str.starts_with("970"))
        .then(pl.lit("97") + finess.str.slice(3, 1))
        .when(finess.str.contains(r"^97[5-8]"))
        .then(finess.str.slice(0, 3))
        .when(finess.str.starts_with("985"))
        .then(pl.lit("976"))
        .otherwise(finess.str.slice(0, 2))
    )


@dataclass(frozen=True)
class Territory:
    level: str  # "departement", "region" or "france"
    code: str | None = None  # INSEE code of the département or région; None for France
    name: str | None = None  # French name, from the reference files
    label: str = field(default="", compare=False)  # French: « le département de la Sarthe (72) »

    @classmethod
    def parse(cls, text: str, geography: Geography) -> Territory:
        value = text.strip().lower()
        if value in ("france", "fr"):
            return cls("france", None, "France", "la France entière")
        if match := re.fullmatch(r"(?:region|région|r)[:\s-]*(\d{2,3})", value):
            code = match.group(1)
            if code not in geography.regions:
                raise ValueError(f"région inconnue : {code!r} (codes INSEE, par exemple 52 pour les Pays de la Loire)")
            return cls("region", code, geography.regions[code], f"la région {geography.regions[code]} ({code})")
        if match := re.fullmatch(r"(?:departement:|département:)?(\d{2,3}|2[ab])", value):
            code = match.group(1).upper()
            if code not in geography.departements:
                raise ValueError(f"département inconnu : {code!r}")
            return cls(
                "departement",
                code,
                geography.departements[code],
                f"le département {geography.linking[code]}{geography.departements[code]} ({code})",
            )
        raise ValueError(
            f"territoire inconnu : {text!r} (attendu : un code de département comme 72, region:52 ou france)"
        )

    def regional(self, geography: Geography) -> Territory:
        """The territory of a regional programme (CARE): a département's région, a région itself, France."""
        if self.level == "departement":
            return Territory.parse(f"region:{geography.region_of_departement[self.code]}", geography)
        return self

    def includes(self, departement: pl.Expr, region: pl.Expr) -> pl.Expr:
        """Polars: is a row of this département and région in the territory?"""
        if self.level == "france":
            return pl.lit(True)
        if self.level == "region":
            return region == self.code
        return departement == self.code

    def __str__(self) -> str:
        return self.code if self.level == "departement" else (f"region:{self.code}" if self.code else "france")
