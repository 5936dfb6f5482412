"""What a source unit declares. A unit lives in `assets/<source_id>/` and is discovered from there.

A unit is self-describing: its column contract (canonical names, header variants, kinds of
value), its pandera model, its cross-row and reference rules, its staging table and indicator
SQL, and its indicator catalogue. The shared code does everything else.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import polars as pl

    from pipelines.problems import Problem
    from pipelines.reference import ReferenceData
    from pipelines.validation import ParsedUpload


@dataclass(frozen=True)
class Column:
    name: str  # canonical snake_case name
    kind: str  # a key of pipelines.ingest.values.KINDS, "choice" (see choices), or "personal" (dropped at ingest)
    headers: tuple[str, ...]  # the header variants stewards write
    label: str  # French, used in messages
    required: bool = False  # the column must be present in the file
    nullable: bool = True  # an empty cell is allowed (unknown)
    # kind "choice": the steward's word -> the code the typed column holds. Words are compared by
    # their key (case, accents, punctuation and spacing do not matter, as for headers); the first
    # word of each code (and its second) is shown to the steward as what to write.
    choices: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"column {self.name!r}: choices go with kind 'choice', and only with it")


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    label: str  # French
    objective: int  # roadmap objective, 1..8
    definition: str  # French
    unit: str  # 'taux', 'nombre', 'par habitant'...


@dataclass(frozen=True)
class QualityCheck:
    """A data-quality check a unit declares, shown as a Dagster asset check and kept in audit.check_result.

    stage "upload": the unit's `check_rows` reports it as problems whose `check` is this name
    (a warning keeps the rows loading, e.g. declared totals that do not match the detail rows).
    stage "indicators": the unit's `checks.sql` returns rows (check_name, passed, severity, message).
    """

    name: str
    description: str  # French
    stage: str = "upload"


@dataclass(frozen=True)
class MonthlyPeriods:
    """A source computed per month: in Dagster its indicators are partitioned by month (the UI
    shows which months are loaded), and a new or corrected month recomputes only the months that
    depend on it (itself and the `window - 1` months after it) instead of the whole history."""

    column: str  # the month column of the uploads (and of the staging table)
    first_month: str  # "YYYY-MM": the first partition; an earlier month is rejected at validation
    window: int = 1  # the indicator of month M uses months M - window + 1 .. M


@dataclass(frozen=True)
class SourceUnit:
    source_id: str
    label: str  # French
    objective: int
    columns: tuple[Column, ...]
    schema: type  # a pandera.polars DataFrameModel over the typed columns
    indicators: tuple[Indicator, ...]
    directory: Path  # holds staging.sql and indicators.sql
    upload_period: Callable[[Path, "pl.DataFrame"], dt.date | None]
    period_label: str = "période"  # French: what the period of an upload is called
    sheet_names: tuple[str, ...] = ()
    check_rows: Callable[["ParsedUpload", "ReferenceData"], list["Problem"]] | None = None
    quality_checks: tuple[QualityCheck, ...] = ()
    freshness_days: int = 365  # expected cadence: older than this, the source is flagged stale
    monthly: MonthlyPeriods | None = None  # indicators partitioned by month (None: one unpartitioned asset)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def stored_columns(self) -> list[Column]:
        return [c for c in self.columns if c.kind != "personal"]

    @property
    def staging_table(self) -> str:
        return f"staging.{self.source_id}"

    def sql(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")


def discover_units() -> list[SourceUnit]:
    """Every `assets.<source_id>` package that exposes a module-level SOURCE."""
    import assets

    units = []
    for module in pkgutil.iter_modules(assets.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"assets.{module.name}")
        unit = getattr(package, "SOURCE", None)
        if isinstance(unit, SourceUnit):
            units.append(unit)
    return sorted(units, key=lambda unit: unit.source_id)


def unit_by_id(source_id: str) -> SourceUnit | None:
    return next((u for u in discover_units() if u.source_id == source_id), None)
