"""Finding the source units: every package of `assets/` (and of the folders named in
ESANTE_UNIT_DIRS, for a unit kept outside the project) that exposes a module-level SOURCE."""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import cache

from pipelines.contract.unit import SourceUnit
from pipelines.reference.tables import SHARED_TABLES, ReferenceData, ReferenceTable


def discover_units() -> list[SourceUnit]:
    return list(_discover(os.environ.get("ESANTE_UNIT_DIRS", "")))


@cache
def _discover(extra_dirs: str) -> tuple[SourceUnit, ...]:
    assets = importlib.import_module("assets")  # units are plugins: the contract does not depend on them
    for folder in filter(None, extra_dirs.split(os.pathsep)):
        if folder not in assets.__path__:
            assets.__path__.append(folder)
    units = []
    for module in pkgutil.iter_modules(assets.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"assets.{module.name}")
        unit = getattr(package, "SOURCE", None)
        if isinstance(unit, SourceUnit):
            units.append(unit)
    identifiers = [u.source_id for u in units]
    if len(set(identifiers)) != len(identifiers):
        raise ValueError(f"two units declare the same source_id: {sorted(identifiers)}")
    return tuple(sorted(units, key=lambda unit: unit.source_id))


def unit_by_id(source_id: str) -> SourceUnit | None:
    return next((u for u in discover_units() if u.source_id == source_id), None)


def reference_tables(units: list[SourceUnit] | None = None) -> tuple[ReferenceTable, ...]:
    """The shared tables and those the units declare, each once."""
    tables = {t.name: t for t in SHARED_TABLES}
    for unit in units if units is not None else discover_units():
        for table in unit.reference_tables:
            if tables.setdefault(table.name, table) is not table:
                raise ValueError(f"reference table {table.name!r} is declared twice")
    return tuple(tables.values())


def reference_data(reference_dir, territory: str = "72", units: list[SourceUnit] | None = None) -> ReferenceData:
    """Every reference table the project knows, for the territory in scope."""
    return ReferenceData(reference_dir, territory, reference_tables(units))
