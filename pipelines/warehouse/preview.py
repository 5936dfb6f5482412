"""What an accepted upload would change in the published indicators, before it is deposited.

The published warehouse is never written: the version the link points at is attached read-only,
and what the unit's SQL needs is copied into an in-memory DuckDB (the unit's staging tables, the
reference tables its scripts name, the source's rows of audit.staging_load). There the upload is
loaded as the pipeline would load it next (the unit's load.sql, then derived.sql), the unit's
indicators are computed, and the result is compared with the published values of those
indicators: every (indicator, territory, period, segment) whose numerator, denominator or value
differs, appears or disappears, old value -> new value.

A pure function of the published file and the upload: the portal shows its result, tests call it
directly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import duckdb

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.french import format_period, format_ratio, format_value
from pipelines.foundation.settings import Settings
from pipelines.reference.tables import ReferenceData
from pipelines.validation.parse import ParsedUpload
from pipelines.warehouse.database import WAREHOUSE_SCHEMA, created_tables, run_script, sql_literal
from pipelines.warehouse.indicators import MonthSpan, compute_indicators
from pipelines.warehouse.publication import published_version
from pipelines.warehouse.staging import load_reference_tables, load_upload

LEVELS = ("region", "departement", "epci", "commune")
LEVEL_LABELS = {"region": "région", "departement": "département", "epci": "EPCI", "commune": "commune"}
REFERENCE_TABLE = re.compile(r"\bref\.(\w+)", re.I)

# Values of the unit's indicators, before (published) and after (computed here), side by side.
DIFFERENCES = """
WITH before AS (
    SELECT indicator_id, territory_level, territory_code, period, segment, numerator, denominator, value, unit
    FROM published.kpi.indicator_value
    WHERE list_contains($identifiers, indicator_id) AND ($first IS NULL OR period BETWEEN $first AND $last)
),
after AS (
    SELECT indicator_id, territory_level, territory_code, period, segment, numerator, denominator, value, unit
    FROM computed_values
)
SELECT
    coalesce(a.indicator_id, b.indicator_id) AS indicator_id,
    coalesce(a.territory_level, b.territory_level) AS territory_level,
    coalesce(a.territory_code, b.territory_code) AS territory_code,
    coalesce(a.period, b.period) AS period,
    coalesce(a.segment, b.segment) AS segment,
    coalesce(a.unit, b.unit) AS unit,
    b.indicator_id IS NOT NULL AS was_published,
    b.numerator AS old_numerator, b.denominator AS old_denominator, b.value AS old_value,
    a.indicator_id IS NOT NULL AS is_computed,
    a.numerator AS new_numerator, a.denominator AS new_denominator, a.value AS new_value
FROM after AS a
FULL OUTER JOIN before AS b
  ON a.indicator_id = b.indicator_id AND a.territory_level = b.territory_level
 AND a.territory_code = b.territory_code AND a.period = b.period AND a.segment IS NOT DISTINCT FROM b.segment
WHERE a.indicator_id IS NULL OR b.indicator_id IS NULL
   OR a.numerator IS DISTINCT FROM b.numerator OR a.denominator IS DISTINCT FROM b.denominator
   OR a.value IS DISTINCT FROM b.value
"""


@dataclass(frozen=True)
class Change:
    """One indicator value the upload changes (None on a side: the value does not exist there)."""

    indicator_id: str
    indicator_label: str
    territory_level: str
    territory_code: str
    territory_name: str
    period: dt.date
    period_text: str
    segment: str | None
    segment_label: str | None
    unit: str
    old: tuple[int | None, int | None, float | None] | None  # (numerator, denominator, value)
    new: tuple[int | None, int | None, float | None] | None

    @property
    def where(self) -> str:
        """« Officines équipées …, Sarthe, 06/2024 » (and the segment's label when there is one)."""
        segment = f" ({self.segment_label})" if self.segment_label else ""
        return f"{self.indicator_label}{segment}, {self.territory_name}, {self.period_text}"

    def figures(self, side: tuple | None) -> str:
        """'123 / 156' for a rate, the count or value otherwise; '—' for a value that does not exist."""
        if side is None:
            return "—"
        numerator, denominator, value = side
        if numerator is not None and (denominator is not None or self.unit == "nombre"):
            return format_ratio(numerator, denominator)
        return format_value(value, self.unit)

    def value_text(self, side: tuple | None) -> str:
        return "—" if side is None else format_value(side[2], self.unit)

    @property
    def text(self) -> str:
        """« Officines équipées …, Sarthe, 06/2024 : 123 / 156 → 127 / 156 »."""
        return f"{self.where} : {self.figures(self.old)} → {self.figures(self.new)}"


@dataclass
class Preview:
    source_id: str
    changes: list[Change] = field(default_factory=list)
    published: str | None = None  # the version compared with (file name), None when nothing is published
    already_loaded: bool = False  # the published warehouse holds this content already
    note: str = ""  # French: why there is no comparison, when there is none

    def by_level(self) -> dict[str, list[Change]]:
        grouped: dict[str, list[Change]] = {level: [] for level in LEVELS}
        for change in self.changes:
            grouped.setdefault(change.territory_level, []).append(change)
        return {level: changes for level, changes in grouped.items() if changes}


def preview_upload(settings: Settings, upload: ParsedUpload, reference: ReferenceData | None = None) -> Preview:
    """The changes an accepted upload would bring to its unit's published indicator values. With no
    published warehouse, every value is new: the reference tables come from `reference` then (without
    it, there is nothing to compare and the note says so)."""
    unit = upload.unit
    assert unit is not None and upload.accepted, "only an accepted upload has an impact"
    version = published_version(settings)
    if version is None and reference is None:
        return Preview(unit.source_id, note="Aucun entrepôt n'est encore publié : l'impact ne peut pas être comparé.")
    with duckdb.connect() as connection:
        try:
            if version is not None:
                connection.execute(f"ATTACH {sql_literal(str(version))} AS published (READ_ONLY)").fetchall()
            else:
                connection.execute("ATTACH ':memory:' AS published").fetchall()
            return _compare(connection, unit, upload, reference, version is not None, version.name if version else None)
        except duckdb.Error as error:
            return Preview(
                unit.source_id,
                published=version.name if version else None,
                note=f"L'impact n'a pas pu être calculé ({type(error).__name__}) : l'entrepôt publié a sans doute été "
                "construit avec une version antérieure des règles de la source. Le dépôt reste possible.",
            )


def _compare(
    connection: duckdb.DuckDBPyConnection,
    unit: SourceUnit,
    upload: ParsedUpload,
    reference: ReferenceData | None,
    from_published: bool,
    version_name: str | None,
) -> Preview:
    run_script(connection, WAREHOUSE_SCHEMA.read_text(encoding="utf-8"))  # the schemas, audit.staging_load, kpi
    if not from_published:
        run_script(connection, f"USE published; {WAREHOUSE_SCHEMA.read_text(encoding='utf-8')} USE memory;")
    staging_script = unit.sql("staging.sql")
    run_script(connection, staging_script)
    if from_published:
        loaded = connection.execute(
            "SELECT upload_sha256 FROM published.audit.staging_load WHERE source_id = ? AND upload_sha256 = ?",
            [unit.source_id, upload.sha256],
        ).fetchall()
        if loaded:
            return Preview(unit.source_id, published=version_name, already_loaded=True)
        present = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'published'"
            ).fetchall()
        }
        for table in created_tables(staging_script):
            if table in present:  # a source never published yet has no rows to copy
                connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM published.{table}").fetchall()
        connection.execute(
            "INSERT INTO audit.staging_load BY NAME SELECT * FROM published.audit.staging_load WHERE source_id = ?",
            [unit.source_id],
        ).fetchall()
        for name in _reference_tables(unit):
            connection.execute(f"CREATE OR REPLACE TABLE ref.{name} AS SELECT * FROM published.ref.{name}").fetchall()
    else:
        load_reference_tables(connection, reference, [n for n in _reference_tables(unit) if n in reference.tables])
    order = connection.execute(
        "SELECT coalesce(max(load_order), 0) + 1 FROM audit.staging_load WHERE source_id = ?", [unit.source_id]
    ).fetchall()[0][0]
    load_upload(connection, upload, order)  # as the next refresh will: after every upload already loaded
    if unit.has_sql("derived.sql"):
        run_script(connection, unit.sql("derived.sql"))
    months = _months(unit, upload)
    compute_indicators(connection, unit, months)
    rows = connection.execute(
        DIFFERENCES,
        {
            "identifiers": [i.indicator_id for i in unit.indicators],
            "first": months[0] if months else None,
            "last": months[1] if months else None,
        },
    ).fetchall()
    names = _territory_names(connection, from_published, reference)
    return Preview(unit.source_id, _changes(unit, rows, names), published=version_name)


def _reference_tables(unit: SourceUnit) -> list[str]:
    """The reference tables the unit's scripts read (ref.<name>)."""
    names: set[str] = set()
    for script in ("load.sql", "derived.sql", "indicators.sql"):
        if unit.has_sql(script):
            names.update(name.lower() for name in REFERENCE_TABLE.findall(unit.sql(script)))
    return sorted(names)


def _months(unit: SourceUnit, upload: ParsedUpload) -> MonthSpan | None:
    """For a monthly unit, the months the upload can change: its own, and the window after them."""
    if unit.monthly is None or upload.frame is None or unit.monthly.column not in upload.frame.columns:
        return None
    months = upload.frame[unit.monthly.column].drop_nulls()
    if months.is_empty():
        return None
    first, last = months.min(), months.max()
    year, month = divmod(last.year * 12 + last.month - 1 + unit.monthly.window - 1, 12)
    return dt.date(first.year, first.month, 1), dt.date(year, month + 1, 1)


def _territory_names(
    connection: duckdb.DuckDBPyConnection, from_published: bool, reference: ReferenceData | None
) -> dict[tuple[str, str], str]:
    if from_published:
        try:
            return {
                (level, code): name
                for level, code, name in connection.execute(
                    "SELECT niveau, code, nom FROM published.ref.territoire"
                ).fetchall()
            }
        except duckdb.Error:
            return {}
    if reference is None:
        return {}
    geography = reference.geography
    return {("departement", code): name for code, name in geography.departements.items()} | {
        ("region", code): name for code, name in geography.regions.items()
    }


def _changes(unit: SourceUnit, rows: list[tuple], names: dict[tuple[str, str], str]) -> list[Change]:
    indicators = {i.indicator_id: i for i in unit.indicators}
    order = {i.indicator_id: position for position, i in enumerate(unit.indicators)}
    changes = []
    for (
        indicator_id,
        level,
        code,
        period,
        segment,
        value_unit,
        was_published,
        old_numerator,
        old_denominator,
        old_value,
        is_computed,
        new_numerator,
        new_denominator,
        new_value,
    ) in rows:
        indicator = indicators[indicator_id]
        changes.append(
            Change(
                indicator_id=indicator_id,
                indicator_label=indicator.label,
                territory_level=level,
                territory_code=code,
                territory_name=names.get((level, code)) or f"{LEVEL_LABELS.get(level, level)} {code}",
                period=period,
                period_text=format_period(period, indicator.period_grain),
                segment=segment,
                segment_label=indicator.segments.get(segment, segment) if segment else None,
                unit=value_unit,
                old=(old_numerator, old_denominator, old_value) if was_published else None,
                new=(new_numerator, new_denominator, new_value) if is_computed else None,
            )
        )
    rank = {level: position for position, level in enumerate(LEVELS)}
    changes.sort(
        key=lambda c: (
            rank.get(c.territory_level, len(LEVELS)),
            c.territory_name,
            order[c.indicator_id],
            c.segment or "",
            c.period,
        )
    )
    return changes
