"""What a source unit declares. A unit lives in `assets/<source_id>/` and is discovered from there.

A unit is self-describing: its column contract (canonical names, header variants, kinds of
value), its pandera model, its derived columns and rules, its reference tables, its staging and
indicator SQL, its indicator catalogue, its freshness and its sample files. The shared code does
everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.ingest.values import KINDS, ValueKind, choice_kind
from pipelines.reference.tables import ReferenceData, ReferenceTable

if TYPE_CHECKING:
    import polars as pl

    from pipelines.contract.rows import UploadRows
    from pipelines.foundation.problems import Problem

# kind "choice" may take its words from the reference (the départements of France, for instance)
Choices = Mapping[str, str] | Callable[[ReferenceData], Mapping[str, str]]


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
    choices: Choices | None = None
    help: str = ""  # French: what the steward should write, shown in the template and the source page

    def __post_init__(self) -> None:
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"column {self.name!r}: choices go with kind 'choice', and only with it")

    def words(self, reference: ReferenceData | None) -> Mapping[str, str]:
        """The choice words of this column (from the reference when they depend on it)."""
        if callable(self.choices):
            if reference is None:
                raise ValueError(f"column {self.name!r}: its words come from the reference data")
            return self.choices(reference)
        return self.choices or {}

    def parser(self, reference: ReferenceData | None = None) -> ValueKind:
        """How the cells of this column are parsed: its kind, or for "choice" its own words."""
        if self.kind == "choice":
            return choice_kind(self.words(reference), self.label)
        try:
            return KINDS[self.kind]
        except KeyError:
            raise ValueError(f"column {self.name!r}: unknown kind {self.kind!r}") from None


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    label: str  # French
    objective: int  # roadmap objective, 1..8
    definition: str  # French
    unit: str  # 'taux', 'nombre', 'par habitant', 'moyenne'
    segments: dict[str, str] = field(default_factory=dict)  # segment code -> French label ('prive' -> 'privé lucratif')
    period_grain: str = "mois"  # how its periods read: 'mois', 'trimestre', 'annee', 'date'
    target: float | None = None  # the roadmap's target, in the unit of the value (1.0 = 100 % for a rate)
    target_label: str = ""  # French: where the target comes from ("Feuille de route : 100 % des CLS signés")
    higher_is_better: bool = True  # False for the fax rate: the goal is zero


@dataclass(frozen=True)
class QualityCheck:
    """A data-quality check a unit declares, shown as a Dagster asset check and kept in audit.check_result.

    stage "upload": the unit's rules report it as problems whose `check` is this name (a warning
    keeps the rows loading, e.g. declared totals that do not match the detail rows).
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
    window: int = 1  # the indicator of month M uses months M - window + 1 .. M


Rule = Callable[["UploadRows", ReferenceData], list["Problem"]]


def rule(description: str):
    """Mark a unit's rule with what it checks, in French: the source page lists it for stewards."""

    def mark(function: Rule) -> Rule:
        function.description = description
        return function

    return mark


Derivation = Callable[["UploadRows", ReferenceData], "pl.DataFrame"]


@dataclass(frozen=True)
class SourceUnit:
    source_id: str
    label: str  # French
    objective: int
    columns: tuple[Column, ...]
    schema: type  # a pandera.polars DataFrameModel over the typed (and derived) columns
    indicators: tuple[Indicator, ...]
    directory: Path  # holds staging.sql, load.sql, indicators.sql (derived.sql, checks.sql if any)
    upload_period: Callable[[Path, pl.DataFrame], dt.date | None]
    steward: str  # French: who sends the files ("les pharmaciens, via l'URPS", "la CPAM de la Sarthe")
    owner: str  # Dagster owner of the source's assets: an e-mail or "team:<name>"
    contract: str  # French: what one file is, what one row is, how a new file supersedes an earlier one
    period_label: str = "période"  # French: what the period of an upload is called
    sheet_names: tuple[str, ...] = ()
    # Derived columns (département from the FINESS, in-scope flag...): a transformation, run before the
    # rules, whose frame is what the pandera model, the rules and load.sql see.
    derive: Derivation | None = None
    rules: tuple[Rule, ...] = ()  # cross-row and reference rules: they only report, never transform
    quality_checks: tuple[QualityCheck, ...] = ()
    freshness_days: int = 365  # expected cadence: older than this, the source is flagged stale
    monthly: MonthlyPeriods | None = None  # indicators partitioned by month (None: one unpartitioned asset)
    reference_tables: tuple[ReferenceTable, ...] = ()  # reference tables of its own (in `ref`)
    subject_column: str | None = None  # the column that names a row in messages (a pharmacy's name)
    # writes the unit's sample files into a folder (the shipped ones in raw/<source_id>/); returns them
    write_samples: Callable[[Path], list[Path]] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def stored_columns(self) -> list[Column]:
        return [c for c in self.columns if c.kind != "personal"]

    @property
    def staging_table(self) -> str:
        return f"staging.{self.source_id}"

    def has_sql(self, name: str) -> bool:
        return (self.directory / name).exists()

    def sql(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)
