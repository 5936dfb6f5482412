"""The data dictionary, generated from the comments DuckDB itself holds (warehouse/DICTIONNAIRE.md)."""

from __future__ import annotations

import duckdb

DOCUMENTED_SCHEMAS = ("kpi", "ref", "audit", "staging")

OBJECTS_QUERY = """
SELECT schema_name, table_name, 'table' AS kind, comment FROM duckdb_tables()
WHERE database_name = current_database() AND list_contains($schemas, schema_name)
UNION ALL
SELECT schema_name, view_name, 'vue', comment FROM duckdb_views()
WHERE database_name = current_database() AND NOT internal AND list_contains($schemas, schema_name)
ORDER BY list_position($schemas, schema_name), kind, table_name
"""

COLUMNS_QUERY = """
SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns()
WHERE database_name = current_database() AND list_contains($schemas, schema_name)
ORDER BY schema_name, table_name, column_index
"""


def undocumented(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables, views and columns of the analyst-facing schemas that carry no comment."""
    parameters = {"schemas": list(DOCUMENTED_SCHEMAS)}
    missing = [f"{s}.{t}" for s, t, _, c in connection.execute(OBJECTS_QUERY, parameters).fetchall() if not c]
    missing += [
        f"{s}.{t}.{c}" for s, t, c, _, note in connection.execute(COLUMNS_QUERY, parameters).fetchall() if not note
    ]
    return missing


def render(connection: duckdb.DuckDBPyConnection) -> str:
    parameters = {"schemas": list(DOCUMENTED_SCHEMAS)}
    objects = connection.execute(OBJECTS_QUERY, parameters).fetchall()
    columns: dict[tuple[str, str], list[tuple]] = {}
    for schema, table, column, data_type, comment in connection.execute(COLUMNS_QUERY, parameters).fetchall():
        columns.setdefault((schema, table), []).append((column, data_type, comment))
    lines = [
        "# Dictionnaire des données de l'entrepôt",
        "",
        "Généré depuis les commentaires de la base (`COMMENT ON`) par `esante dictionary` ;",
        "un test échoue quand il n'est plus à jour. Ne pas modifier à la main.",
    ]
    for schema, table, kind, comment in objects:
        lines += [
            "",
            f"## `{schema}.{table}` ({kind})",
            "",
            comment or "",
            "",
            "| colonne | type | description |",
            "|---|---|---|",
        ]
        for column, data_type, note in columns.get((schema, table), []):
            lines.append(f"| `{column}` | {data_type} | {(note or '').replace('|', '/')} |")
    return "\n".join(lines) + "\n"
