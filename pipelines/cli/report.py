"""What `esante run` prints: the outcome of a rebuild in French, with names of places, not codes."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.contract.discovery import discover_units
from pipelines.foundation.french import format_period, format_ratio, format_value
from pipelines.foundation.problems import printable
from pipelines.orchestration.runs import RunOutcome

# The headline of each indicator: its latest value, at the widest level it has among the territory in
# scope and its région (a regional programme such as CARE is read for the région); the value for all
# (segment NULL), or its segments when it has none (crisis exercises by status). `esante kpi` gives the rest.
SUMMARY_QUERY = """
WITH scoped AS (
    SELECT v.*, CASE WHEN territory_level = 'region' THEN 0 ELSE 1 END AS breadth
    FROM kpi.indicator_value AS v
    WHERE (territory_level = $level AND territory_code = $code)
       OR (territory_level = 'region' AND territory_code = $region)
),
headline_level AS (
    SELECT indicator_id, min(breadth) AS breadth FROM scoped GROUP BY indicator_id
),
chosen AS (
    SELECT s.*, bool_or(s.segment IS NULL) OVER (PARTITION BY s.indicator_id) AS has_overall,
           row_number() OVER (PARTITION BY s.indicator_id, s.segment ORDER BY s.period DESC) AS rank
    FROM scoped AS s JOIN headline_level USING (indicator_id, breadth)
)
SELECT i.objective, i.label, coalesce(t.nom, c.territory_code), c.period, i.period_grain, g.label AS segment,
       c.numerator, c.denominator, c.value, c.unit, c.note
FROM chosen AS c
JOIN kpi.indicator AS i USING (indicator_id)
LEFT JOIN kpi.indicator_segment AS g ON g.indicator_id = c.indicator_id AND g.segment = c.segment
LEFT JOIN ref.territoire AS t ON t.niveau = c.territory_level AND t.code = c.territory_code
WHERE c.rank = 1 AND (c.segment IS NULL OR NOT c.has_overall)
ORDER BY i.objective, c.indicator_id, c.segment NULLS FIRST
"""


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_report(outcome: RunOutcome) -> str:
    lines = [f"! {line}" for line in outcome.recovered]
    if not outcome.published:
        lines.append("✘ Aucun entrepôt n'a été publié : le précédent (s'il existe) reste en place.")
        lines.extend(f"  - {f}" for f in outcome.failures)
        return "\n".join(lines)
    settings = outcome.settings
    lines.append(f"✔ Entrepôt publié : {shown(settings.warehouse_path)}  (exécution Dagster {outcome.run_id[:8]})")
    lines.extend(f"! {note}" for note in outcome.notes)
    lines.extend(f"! après la publication, {failure}" for failure in outcome.failures)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        uploads = connection.execute(
            "SELECT source_id, file_name, status, message FROM audit.upload ORDER BY source_id, file_name"
        ).fetchall()
        territory = _scope(settings.territory_code, connection)
        values = connection.execute(SUMMARY_QUERY, dict(zip(("level", "code", "region"), territory))).fetchall()
        failed_checks = connection.execute(
            "SELECT source_id, message FROM audit.check_result "
            "WHERE NOT passed AND check_name <> 'fichiers_deposes_valides' ORDER BY source_id, check_name"
        ).fetchall()
    accepted = [u for u in uploads if u[2] == "accepted"]
    rejected = [u for u in uploads if u[2] == "rejected"]
    lines.append(f"Fichiers : {len(accepted)} accepté(s), {len(rejected)} rejeté(s).")
    for source_id, name, _, message in rejected:
        first = message.splitlines()[0] if message else ""
        more = len(message.splitlines()) - 1 if message else 0
        lines.append(f"  ✘ {source_id}/{printable(name)} : {first}" + (f" (+{more} autre(s))" if more else ""))
    if values:
        lines += ["", "Indicateurs (dernière période ; détail par segment et territoire : esante kpi) :"]
    for objective, label, place, period, grain, segment, numerator, denominator, value, unit, note in values:
        ratio = f" ({format_ratio(numerator, denominator)})" if denominator is not None else ""
        shown_value = format_value(value, unit) if value is not None else f"non défini ({note})"
        when = format_period(period, grain)
        lines.append(
            f"  [obj. {objective}] {label}{' – ' + segment if segment else ''}, {place}, {when} : {shown_value}{ratio}"
        )
    if failed_checks:
        lines += ["", "Contrôles de qualité en échec (avertissements, les données sont chargées) :"]
        labels = {unit.source_id: unit.label for unit in discover_units()}
        lines.extend(f"  ! {labels.get(source, source)} — {message}" for source, message in failed_checks)
    return "\n".join(lines)


def _scope(territory_code: str, connection: duckdb.DuckDBPyConnection) -> list:
    """(level, code, région) of the territory in scope, as the warehouse knows it."""
    code = territory_code.strip().lower()
    if code.startswith(("region", "région")):
        return ["region", code.split(":")[-1], code.split(":")[-1]]
    if code in ("france", "fr"):
        return ["france", "FR", None]
    code = code.upper()
    rows = connection.execute("SELECT region FROM ref.departement WHERE code = ?", [code]).fetchall()
    return ["departement", code, rows[0][0] if rows else None]
