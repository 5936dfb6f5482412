"""The territory in scope: the Sarthe by default, another département, a région, or all of France.

Set with ESANTE_TERRITOIRE: `72` (a département code), `region:52` (a région code) or `france`.
The same pipeline then serves a département, a region or the country: the reference tables in
`ref` hold the territory's communes and establishments, and rows outside it are reported and
not loaded. A regional programme (CARE) covers the région of the territory: `Territory.regional()`.

DEPARTEMENTS and REGIONS are the INSEE COG 2025 départements and régions (codes, names, région
of each département); tests/test_territory.py checks them against reference/cog2025_communes_france.csv.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

LEVELS = ("departement", "region", "france")

REGIONS: dict[str, str] = {
    "01": "Guadeloupe", "02": "Martinique", "03": "Guyane", "04": "La Réunion", "06": "Mayotte",
    "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté", "28": "Normandie",
    "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur", "94": "Corse",
}

# code -> (name, région)
DEPARTEMENTS: dict[str, tuple[str, str]] = {
    "01": ("Ain", "84"), "02": ("Aisne", "32"), "03": ("Allier", "84"), "04": ("Alpes-de-Haute-Provence", "93"),
    "05": ("Hautes-Alpes", "93"), "06": ("Alpes-Maritimes", "93"), "07": ("Ardèche", "84"), "08": ("Ardennes", "44"),
    "09": ("Ariège", "76"), "10": ("Aube", "44"), "11": ("Aude", "76"), "12": ("Aveyron", "76"),
    "13": ("Bouches-du-Rhône", "93"), "14": ("Calvados", "28"), "15": ("Cantal", "84"), "16": ("Charente", "75"),
    "17": ("Charente-Maritime", "75"), "18": ("Cher", "24"), "19": ("Corrèze", "75"), "21": ("Côte-d'Or", "27"),
    "22": ("Côtes-d'Armor", "53"), "23": ("Creuse", "75"), "24": ("Dordogne", "75"), "25": ("Doubs", "27"),
    "26": ("Drôme", "84"), "27": ("Eure", "28"), "28": ("Eure-et-Loir", "24"), "29": ("Finistère", "53"),
    "2A": ("Corse-du-Sud", "94"), "2B": ("Haute-Corse", "94"), "30": ("Gard", "76"), "31": ("Haute-Garonne", "76"),
    "32": ("Gers", "76"), "33": ("Gironde", "75"), "34": ("Hérault", "76"), "35": ("Ille-et-Vilaine", "53"),
    "36": ("Indre", "24"), "37": ("Indre-et-Loire", "24"), "38": ("Isère", "84"), "39": ("Jura", "27"),
    "40": ("Landes", "75"), "41": ("Loir-et-Cher", "24"), "42": ("Loire", "84"), "43": ("Haute-Loire", "84"),
    "44": ("Loire-Atlantique", "52"), "45": ("Loiret", "24"), "46": ("Lot", "76"), "47": ("Lot-et-Garonne", "75"),
    "48": ("Lozère", "76"), "49": ("Maine-et-Loire", "52"), "50": ("Manche", "28"), "51": ("Marne", "44"),
    "52": ("Haute-Marne", "44"), "53": ("Mayenne", "52"), "54": ("Meurthe-et-Moselle", "44"), "55": ("Meuse", "44"),
    "56": ("Morbihan", "53"), "57": ("Moselle", "44"), "58": ("Nièvre", "27"), "59": ("Nord", "32"),
    "60": ("Oise", "32"), "61": ("Orne", "28"), "62": ("Pas-de-Calais", "32"), "63": ("Puy-de-Dôme", "84"),
    "64": ("Pyrénées-Atlantiques", "75"), "65": ("Hautes-Pyrénées", "76"), "66": ("Pyrénées-Orientales", "76"),
    "67": ("Bas-Rhin", "44"), "68": ("Haut-Rhin", "44"), "69": ("Rhône", "84"), "70": ("Haute-Saône", "27"),
    "71": ("Saône-et-Loire", "27"), "72": ("Sarthe", "52"), "73": ("Savoie", "84"), "74": ("Haute-Savoie", "84"),
    "75": ("Paris", "11"), "76": ("Seine-Maritime", "28"), "77": ("Seine-et-Marne", "11"), "78": ("Yvelines", "11"),
    "79": ("Deux-Sèvres", "75"), "80": ("Somme", "32"), "81": ("Tarn", "76"), "82": ("Tarn-et-Garonne", "76"),
    "83": ("Var", "93"), "84": ("Vaucluse", "93"), "85": ("Vendée", "52"), "86": ("Vienne", "75"),
    "87": ("Haute-Vienne", "75"), "88": ("Vosges", "44"), "89": ("Yonne", "27"), "90": ("Territoire de Belfort", "27"),
    "91": ("Essonne", "11"), "92": ("Hauts-de-Seine", "11"), "93": ("Seine-Saint-Denis", "11"),
    "94": ("Val-de-Marne", "11"), "95": ("Val-d'Oise", "11"),
    "971": ("Guadeloupe", "01"), "972": ("Martinique", "02"), "973": ("Guyane", "03"), "974": ("La Réunion", "04"),
    "976": ("Mayotte", "06"),
}
DEPARTEMENT_REGIONS = {code: region for code, (_, region) in DEPARTEMENTS.items()}


def region_of(departement: pl.Expr) -> pl.Expr:
    """Polars: the région of a département code (null for a code that is not a département)."""
    return departement.replace_strict(DEPARTEMENT_REGIONS, default=None, return_dtype=pl.String)


def finess_departement(finess: pl.Expr) -> pl.Expr:
    """Polars: the département of a FINESS number: its first two characters (2A, 2B in Corsica); overseas,
    97 and the fourth character (970 1... is Guadeloupe, 971; 970 4... La Réunion, 974)."""
    return pl.when(finess.str.starts_with("97")).then(pl.lit("97") + finess.str.slice(3, 1)).otherwise(
        finess.str.slice(0, 2))


@dataclass(frozen=True)
class Territory:
    level: str  # "departement", "region" or "france"
    code: str | None = None  # INSEE code of the département or région; None for France

    @classmethod
    def parse(cls, text: str) -> Territory:
        value = text.strip().lower()
        if value in ("france", "fr"):
            return cls("france")
        if match := re.fullmatch(r"(?:region|région|r)[:\s-]*(\d{2})", value):
            return cls("region", match.group(1))
        if re.fullmatch(r"(?:departement:)?(\d{2,3}|2[ab])", value):
            return cls("departement", value.rsplit(":", 1)[-1].upper())
        raise ValueError(
            f"territoire inconnu : {text!r} (attendu : un code de département comme 72, region:52 ou france)"
        )

    @property
    def label(self) -> str:
        """French: « le département 72 », « la région 52 », « la France entière »."""
        return {"departement": f"le département {self.code}", "region": f"la région {self.code}"}.get(
            self.level, "la France entière")

    @property
    def name(self) -> str | None:
        """French name of the département or région (None for France)."""
        if self.level == "departement":
            return DEPARTEMENTS.get(self.code, (None,))[0]
        return REGIONS.get(self.code) if self.level == "region" else None

    def regional(self) -> Territory:
        """The territory of a regional programme (CARE): a département's région, a région itself, France."""
        if self.level == "departement":
            if self.code not in DEPARTEMENTS:
                raise ValueError(f"département inconnu : {self.code}")
            return Territory("region", DEPARTEMENT_REGIONS[self.code])
        return self

    def includes(self, departement: pl.Expr, region: pl.Expr | None = None) -> pl.Expr:
        """Polars: is a row of this département (and région) in the territory? Without the région of
        each row, it is the région of its département."""
        if self.level == "france":
            return pl.lit(True)
        if self.level == "region":
            return (region if region is not None else region_of(departement)) == self.code
        return departement == self.code

    def __str__(self) -> str:
        return self.code if self.level == "departement" else (f"region:{self.code}" if self.code else "france")


SARTHE = Territory("departement", "72")
