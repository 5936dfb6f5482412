"""The territory in scope as the published warehouse names it: its level, code, région and the level below
it (the breakdown the committee reads: the EPCI of a département, the départements of a région)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# the level a territory's breakdown is read at
LEVEL_BELOW = {"departement": "epci", "region": "departement", "france": "region"}
LEVEL_NAMES = {
    "france": "France",
    "region": "région",
    "departement": "département",
    "epci": "EPCI",
    "commune": "commune",
}


@dataclass(frozen=True)
class Scope:
    level: str  # 'departement', 'region' or 'france'
    code: str
    region: str | None  # the région of a département (the CARE programme is read there)

    @property
    def below(self) -> str:
        return LEVEL_BELOW.get(self.level, "commune")

    def territories(self) -> list[tuple[str, str]]:
        """(level, code) the headline figures are read at, nearest first."""
        found = [(self.level, self.code)]
        if self.region and self.region != self.code:
            found.append(("region", self.region))
        return found


def scope_of(territory_code: str, connection: duckdb.DuckDBPyConnection) -> Scope:
    """The territory of the settings (72, region:52, france) as the warehouse knows it."""
    code = territory_code.strip().lower()
    if code.startswith(("region", "région")):
        region = code.split(":")[-1]
        return Scope("region", region, region)
    if code in ("france", "fr"):
        return Scope("france", "FR", None)
    code = code.upper()
    rows = connection.execute("SELECT region FROM ref.departement WHERE code = ?", [code]).fetchall()
    return Scope("departement", code, rows[0][0] if rows else None)


class LockedWarehouse(RuntimeError):
    """The published file is held read-write by another program: the message is French."""


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A published version, read-only; a French message when someone holds it read-write."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        holder = str(error).split("(PID", 1)[-1].split(")")[0].strip() if "PID" in str(error) else "?"
        raise LockedWarehouse(
            f"L'entrepôt publié est ouvert en écriture par un autre programme (processus {holder}) : il ne peut "
            "pas être lu pendant ce temps. Ce programme doit l'ouvrir en lecture seule : "
            "duckdb -readonly warehouse/esante.duckdb, ou duckdb.connect(..., read_only=True) ; "
            "DBeaver : propriété duckdb.read_only = true. Fermez-le, puis relancez."
        ) from None
