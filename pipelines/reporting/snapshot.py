"""One published version of the warehouse, read once: everything the committee pack shows comes from here.

The pack reads the version file the link points at (never the working database), so it is never made
from a half-built state, and it names that version: its publication time and Dagster run id (from the
publication manifest when it describes this version, else the file's own time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.foundation.settings import Settings
from pipelines.reporting.scope import Scope, open_published, scope_of
from pipelines.warehouse.publication import published_version, read_manifest


class NoPublishedWarehouse(RuntimeError):
    """Nothing to report on: the message is French."""


@dataclass(frozen=True)
class IndicatorInfo:
    id: str
    label: str
    objective: int
    definition: str
    unit: str
    source_id: str
    grain: str
    target: float | None
    target_label: str | None
    higher_is_better: bool


@dataclass(frozen=True)
class Value:
    indicator_id: str
    level: str
    code: str
    territory: str  # its name
    period: dt.date
    segment: str | None
    segment_label: str | None
    numerator: int | None
    denominator: int | None
    value: float | None
    unit: str
    note: str | None
    uploads: tuple[str, ...]


@dataclass(frozen=True)
class RoadmapFigure:
    """A figure the roadmap publishes (ref.feuille_de_route)."""

    indicator_id: str
    objective: int
    level: str
    code: str
    territory: str
    segment: str | None
    period: dt.date | None
    grain: str
    nature: str  # 'constat' or 'objectif'
    numerator: int | None
    denominator: int | None
    value: float | None
    unit: str
    text: str
    document: str
    section: str
    note: str | None


@dataclass(frozen=True)
class Upload:
    source_id: str
    sha256: str
    file_name: str
    status: str
    rows: int | None
    period: dt.date | None
    first_seen_at: dt.datetime
    processed_at: dt.datetime
    errors: int
    warnings: int


@dataclass(frozen=True)
class Check:
    source_id: str
    name: str
    stage: str
    severity: str
    passed: bool
    message: str
    upload_sha256: str | None


@dataclass(frozen=True)
class Source:
    source_id: str
    label: str
    objective: int | None
    freshness_days: int | None


@dataclass
class Snapshot:
    version: Path
    published_at: dt.datetime
    run_id: str | None
    scope: Scope
    names: dict[tuple[str, str], str]  # (level, code) -> name
    indicators: list[IndicatorInfo]
    segment_labels: dict[tuple[str, str], str]
    values: list[Value]
    roadmap: list[RoadmapFigure]
    uploads: list[Upload]
    checks: list[Check]
    sources: dict[str, Source] = field(default_factory=dict)

    @property
    def stamp(self) -> str:
        """The version's own stamp (esante-<stamp>.duckdb): the pack's version is named after it."""
        stem = self.version.stem
        return stem.split("-", 1)[1] if "-" in stem else self.published_at.strftime("%Y%m%dT%H%M%S")

    def name(self, level: str, code: str) -> str:
        return self.names.get((level, code), code)

    def source_label(self, source_id: str) -> str:
        source = self.sources.get(source_id)
        return source.label if source else source_id


VALUES_QUERY = """
SELECT indicateur, niveau, code_territoire, coalesce(territoire, code_territoire), periode, segment,
       segment_libelle, numerateur, denominateur, valeur, unite, note, fichiers_sha256
FROM kpi.v_series
WHERE (niveau = $level AND code_territoire = $code)
   OR (niveau = 'region' AND code_territoire = $region)
   OR (niveau = $below AND ($level <> 'region'
       OR code_territoire IN (SELECT code FROM ref.departement WHERE region = $code)))
ORDER BY indicateur, niveau, code_territoire, segment NULLS FIRST, periode
"""

ROADMAP_QUERY = """
SELECT f.indicator_id, f.objective, f.territory_level, f.territory_code, coalesce(t.nom, f.territory_code),
       nullif(f.segment, ''), TRY_CAST(f.period AS DATE), coalesce(f.period_grain, ''), f.nature,
       f.numerator, f.denominator, TRY_CAST(f.value AS DOUBLE), f.unit, f.published_text, f.document, f.section,
       f.note
FROM ref.feuille_de_route AS f
LEFT JOIN ref.territoire AS t ON t.niveau = f.territory_level AND t.code = f.territory_code
ORDER BY f.rowid
"""


def load_snapshot(settings: Settings) -> Snapshot:
    """The published version, read in one read-only session."""
    version = published_version(settings)
    if version is None:
        raise NoPublishedWarehouse(
            f"Aucun entrepôt publié à {settings.warehouse_path} : lancez d'abord « esante run » (le dossier du "
            "comité est fait depuis l'entrepôt publié)."
        )
    published_at, run_id = _identity(settings, version)
    with open_published(version) as connection:
        return _read(connection, settings, version, published_at, run_id)


def _identity(settings: Settings, version: Path) -> tuple[dt.datetime, str | None]:
    manifest = read_manifest(settings) or {}
    if manifest.get("path") and Path(manifest["path"]).name == version.name:
        try:
            return dt.datetime.fromisoformat(manifest["published_at"]), manifest.get("run_id")
        except (KeyError, TypeError, ValueError):
            pass
    return dt.datetime.fromtimestamp(version.stat().st_mtime).replace(microsecond=0), None


def _read(
    connection: duckdb.DuckDBPyConnection, settings: Settings, version: Path, published_at: dt.datetime, run_id
) -> Snapshot:
    scope = scope_of(settings.territory_code, connection)
    names = {(level, code): name for level, code, name in connection.execute("FROM ref.territoire").fetchall()}
    indicators = [
        IndicatorInfo(*row)
        for row in connection.execute(
            "SELECT indicator_id, label, objective, definition, unit, source_id, period_grain, target, target_label, "
            "higher_is_better FROM kpi.indicator ORDER BY objective, rowid"
        ).fetchall()
    ]
    segment_labels = {
        (i, s): label
        for i, s, label in connection.execute(
            "SELECT indicator_id, segment, label FROM kpi.indicator_segment ORDER BY rowid"
        ).fetchall()
    }
    values = [
        Value(*row[:12], uploads=tuple(row[12] or ()))
        for row in connection.execute(
            VALUES_QUERY,
            {"level": scope.level, "code": scope.code, "region": scope.region, "below": scope.below},
        ).fetchall()
    ]
    roadmap = []
    if _has_table(connection, "ref", "feuille_de_route"):
        roadmap = [RoadmapFigure(*row) for row in connection.execute(ROADMAP_QUERY).fetchall()]
    uploads = [
        Upload(*row)
        for row in connection.execute(
            "SELECT source_id, sha256, file_name, status, rows, period, first_seen_at, processed_at, errors, warnings "
            "FROM audit.upload ORDER BY source_id, period NULLS FIRST, first_seen_at"
        ).fetchall()
    ]
    checks = [
        Check(*row)
        for row in connection.execute(
            "SELECT source_id, check_name, stage, severity, passed, message, upload_sha256 FROM audit.check_result "
            "ORDER BY source_id, stage, check_name"
        ).fetchall()
    ]
    return Snapshot(
        version=version,
        published_at=published_at,
        run_id=run_id,
        scope=scope,
        names=names,
        indicators=indicators,
        segment_labels=segment_labels,
        values=values,
        roadmap=roadmap,
        uploads=uploads,
        checks=checks,
        sources=_sources(indicators, uploads),
    )


def _has_table(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        connection.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
            "AND table_name = ?",
            [schema, table],
        ).fetchall()
    )


def _sources(indicators: list[IndicatorInfo], uploads: list[Upload]) -> dict[str, Source]:
    """Every source the project knows (its units) and any other the warehouse holds, by name."""
    from pipelines.contract.discovery import discover_units

    sources = {
        u.source_id: Source(u.source_id, u.label, u.objective, getattr(u, "freshness_days", None))
        for u in discover_units()
    }
    objectives = {i.source_id: i.objective for i in indicators}
    for source_id in {*objectives, *(u.source_id for u in uploads)}:
        sources.setdefault(source_id, Source(source_id, source_id, objectives.get(source_id), None))
    return dict(sorted(sources.items(), key=lambda item: (item[1].objective or 99, item[1].label)))
