"""The territory in scope: the Sarthe by default, another département, a région, or all of France.

Set with ESANTE_TERRITOIRE: `72` (a département code), `region:52` (a région code) or `france`.
The same pipeline then serves a département, a region or the country: the reference tables in
`ref` hold the territory's communes and establishments, and rows outside it are reported and
not loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

LEVELS = ("departement", "region", "france")


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

    def includes(self, departement: pl.Expr, region: pl.Expr | None = None) -> pl.Expr:
        """Polars: is a row of this département (and région) in the territory?"""
        if self.level == "france":
            return pl.lit(True)
        if self.level == "region":
            if region is None:
                raise ValueError("a région needs the région of each row")
            return region == self.code
        return departement == self.code

    def __str__(self) -> str:
        return self.code if self.level == "departement" else (f"region:{self.code}" if self.code else "france")


SARTHE = Territory("departement", "72")
