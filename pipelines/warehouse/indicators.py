"""Indicator values: computed by each unit's indicators.sql, checked, then written; the catalogue.

The values a run computes stay inside DuckDB: the unit's indicators.sql (a SELECT) is held in a
temporary table of the run's connection, checked there (a rate between 0 and 1, a numerator
within its denominator, one value per key), and only then written in place of the unit's values
(or of its months, for a monthly source). A failing check writes and publishes nothing.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.problems import Problem, ProblemsFound, errors
from pipelines.warehouse.database import READABLE_VIEWS, run_script, sql_literal
from pipelines.warehouse.staging import now

INDICATOR_COLUMNS = (
    "indicator_id",
    "territory_level",
    "territory_code",
    "period",
    "segment",
    "numerator",
    "denominator",
    "value",
    "unit",
    "note",
    "upload_sha256",
)
MonthSpan = tuple[dt.date, dt.date]  # first days of the first and last months, both included

HOLD_COMPUTED_VALUES = """
CREATE OR REPLACE TEMP TABLE computed_values AS
SELECT {columns} FROM ({indicators}) AS computed
WHERE $first IS NULL OR period BETWEEN $first AND $last
"""

# Blocking checks on computed values, before they are written (a failing run publishes nothing).
COMPUTED_VALUE_PROBLEMS = """
SELECT
    count(*) - count(DISTINCT (indicator_id, territory_level, territory_code, period, segment)) AS duplicated,
    count(*) FILTER (WHERE unit = 'taux' AND numerator > denominator) AS numerator_above_denominator,
    count(*) FILTER (WHERE numerator < 0 OR denominator < 0) AS negative_count,
    count(*) FILTER (WHERE unit = 'taux' AND NOT value BETWEEN 0 AND 1) AS rate_out_of_range,
    count(*) FILTER (WHERE value IS NULL AND note IS NULL) AS undefined_without_note
FROM computed_values
"""

# A monthly source's run replaces the values of its months, and drops those of months no longer
# in staging (an upload withdrawn from raw/); {staging} and {month} are the unit's own identifiers.
DELETE_MONTHS = """
DELETE FROM kpi.indicator_value
WHERE list_contains($identifiers, indicator_id)
  AND (period BETWEEN $first AND $last OR period NOT IN (SELECT DISTINCT {month} FROM {staging}))
"""


def compute_indicators(
    connection: duckdb.DuckDBPyConnection, unit: SourceUnit, months: MonthSpan | None = None
) -> duckdb.DuckDBPyRelation:
    """The unit's indicators (for a monthly source, only the periods of `months`), held in the
    temporary table `computed_values` until replace_indicators writes them."""
    connection.execute(
        HOLD_COMPUTED_VALUES.format(columns=", ".join(INDICATOR_COLUMNS), indicators=unit.sql("indicators.sql")),
        {"first": months[0] if months else None, "last": months[1] if months else None},
    ).fetchall()
    return connection.table("computed_values")


def indicator_problems(connection: duckdb.DuckDBPyConnection, source_id: str) -> list[Problem]:
    """What is wrong with the values held by compute_indicators (nothing is written if any)."""
    ((duplicated, over, negative, out_of_range, unexplained),) = connection.execute(COMPUTED_VALUE_PROBLEMS).fetchall()
    found = [
        (
            duplicated,
            f"{duplicated} valeurs d'indicateur en double pour la même clé.",
            "Corriger la requête indicators.sql de la source.",
            "cle_unique",
        ),
        (
            over,
            f"{over} taux dont le numérateur dépasse le dénominateur.",
            "Vérifier les données et la requête.",
            "numerateur_le_denominateur",
        ),
        (
            negative,
            f"{negative} valeurs avec un effectif négatif.",
            "Vérifier les données et la requête.",
            "effectifs_positifs",
        ),
        (
            out_of_range,
            f"{out_of_range} taux hors de l'intervalle [0, 1].",
            "Vérifier les données et la requête.",
            "taux_entre_0_et_1",
        ),
        (
            unexplained,
            f"{unexplained} valeurs non définies sans explication (colonne note).",
            "Corriger la requête indicators.sql : une valeur NULL porte sa raison.",
            "valeur_expliquee",
        ),
    ]
    return [Problem(message, action, file=source_id, check=check) for count, message, action, check in found if count]


def replace_indicators(connection: duckdb.DuckDBPyConnection, unit: SourceUnit, months: MonthSpan | None = None) -> int:
    """Write the values held by compute_indicators in place of the unit's (or its months') values."""
    problems = indicator_problems(connection, unit.source_id)
    if errors(problems):
        raise ProblemsFound(problems)
    identifiers = [i.indicator_id for i in unit.indicators]
    if months is None:
        connection.execute(
            "DELETE FROM kpi.indicator_value WHERE list_contains(?, indicator_id)", [identifiers]
        ).fetchall()
    else:
        connection.execute(
            DELETE_MONTHS.format(month=unit.monthly.column, staging=unit.staging_table),
            {"identifiers": identifiers, "first": months[0], "last": months[1]},
        ).fetchall()
    connection.execute(
        "INSERT INTO kpi.indicator_value BY NAME SELECT *, ? AS computed_at FROM computed_values", [now()]
    ).fetchall()
    return connection.execute("SELECT count(*) FROM computed_values").fetchall()[0][0]


def run_indicator_checks(connection: duckdb.DuckDBPyConnection, unit: SourceUnit) -> list[dict]:
    """Rows of the unit's checks.sql (check_name, passed, severity, message), if it has one."""
    if not unit.has_sql("checks.sql"):
        return []
    return connection.sql(unit.sql("checks.sql")).pl().to_dicts()


def replace_catalogue(connection: duckdb.DuckDBPyConnection, units: list[SourceUnit]) -> int:
    rows = [
        (
            i.indicator_id,
            i.label,
            i.objective,
            i.definition,
            i.unit,
            unit.source_id,
            i.period_grain,
            i.target,
            i.target_label or None,
            i.higher_is_better,
        )
        for unit in units
        for i in unit.indicators
    ]
    segments = [
        (i.indicator_id, code, label) for unit in units for i in unit.indicators for code, label in i.segments.items()
    ]
    connection.execute("DELETE FROM kpi.indicator").fetchall()
    connection.execute("DELETE FROM kpi.indicator_segment").fetchall()
    if rows:
        connection.executemany("INSERT INTO kpi.indicator VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if segments:
        connection.executemany("INSERT INTO kpi.indicator_segment VALUES (?, ?, ?)", segments)
    return len(rows)


def refresh_views(connection: duckdb.DuckDBPyConnection) -> None:
    """The readable views, their column comments carried from kpi.v_series to the views built on it."""
    run_script(connection, READABLE_VIEWS.read_text(encoding="utf-8"))
    comments = dict(
        connection.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'kpi' AND table_name = 'v_series'"
        ).fetchall()
    )
    derived = connection.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'kpi' "
        "AND (table_name = 'v_dernieres_valeurs' OR table_name LIKE 'v_objectif_%')"
    ).fetchall()
    for view, column in derived:  # identifiers come from the catalogue, not from input
        if comments.get(column):
            connection.execute(
                f'COMMENT ON COLUMN kpi."{view}"."{column}" IS {sql_literal(comments[column])}'
            ).fetchall()
