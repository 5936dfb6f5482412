"""`esante kpi`: indicator values of the published warehouse, with names of places, in French formats.

Without options: the latest value of every indicator for the territory in scope (and its région).
`--indicator`, `--level` (région, département, EPCI, commune: case and accents do not matter),
`--all-periods`; `--format csv` is the French Excel dialect, `--format xlsx` a workbook.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from pipelines.foundation.french import format_count, format_period, format_value
from pipelines.foundation.settings import Settings
from pipelines.foundation.text import word_key
from pipelines.reporting.tables import EXCEL_FORMATS, csv_text, write_workbook

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
LEVELS = {
    "region": "region",
    "regions": "region",
    "departement": "departement",
    "departements": "departement",
    "dep": "departement",
    "epci": "epci",
    "interco": "epci",
    "commune": "commune",
    "communes": "commune",
}
COLUMNS = (
    "objectif",
    "indicateur",
    "libelle",
    "niveau",
    "code_territoire",
    "territoire",
    "periode",
    "grain",
    "segment",
    "segment_libelle",
    "numerateur",
    "denominateur",
    "valeur",
    "unite",
    "valeur_affichee",
    "note",
)
HEADERS = (
    "Objectif",
    "Indicateur",
    "Libellé",
    "Niveau",
    "Code du territoire",
    "Territoire",
    "Période",
    "Grain",
    "Segment",
    "Segment (libellé)",
    "Numérateur",
    "Dénominateur",
    "Valeur",
    "Unité",
    "Valeur affichée",
    "Note",
)

QUERY = """
SELECT {columns} FROM kpi.{view}
WHERE ($indicator IS NULL OR indicateur = $indicator)
  AND (CASE WHEN $level IS NULL THEN (niveau = $scope_level AND code_territoire = $scope_code)
                                    OR (niveau = 'region' AND code_territoire = $scope_region)
            ELSE niveau = $level END)
ORDER BY objectif, indicateur, niveau, territoire, periode, segment NULLS FIRST
"""


class LockedWarehouse(RuntimeError):
    pass


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """The published warehouse, read-only; a French message when someone holds it read-write."""
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


def command_kpi(args, settings: Settings) -> int:
    path = settings.warehouse_path
    if not path.exists():
        print(f"Aucun entrepôt publié à {path} : lancez d'abord « esante run ».", file=sys.stderr)
        return EXIT_REJECTED
    level = None
    if args.level:
        level = LEVELS.get(word_key(args.level))
        if level is None:
            print(
                f"Niveau inconnu : « {args.level} ». Niveaux possibles : région, département, EPCI, commune.",
                file=sys.stderr,
            )
            return EXIT_USAGE
    try:
        connection = open_published(path)
    except LockedWarehouse as locked:
        print(str(locked), file=sys.stderr)
        return EXIT_REJECTED
    with connection:
        known = [r[0] for r in connection.execute("SELECT indicator_id FROM kpi.indicator ORDER BY 1").fetchall()]
        if args.indicator and args.indicator not in known:
            print(
                f"Indicateur inconnu : « {args.indicator} ». Indicateurs possibles : {', '.join(known)}.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        scope = _scope(settings.territory_code, connection)
        rows = connection.execute(
            QUERY.format(columns=", ".join(COLUMNS), view="v_series" if args.all_periods else "v_dernieres_valeurs"),
            {
                "indicator": args.indicator,
                "level": level,
                "scope_level": scope[0],
                "scope_code": scope[1],
                "scope_region": scope[2],
            },
        ).fetchall()
    if not rows:
        print("Aucune valeur pour ces critères.", file=sys.stderr)
        return EXIT_REJECTED
    records = [dict(zip(COLUMNS, row)) for row in rows]
    if args.format == "json":
        print(json.dumps(records, ensure_ascii=False, indent=2, default=str))
    elif args.format == "csv":
        text = csv_text(HEADERS, rows)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif args.format == "xlsx":
        output = args.output or Path("indicateurs.xlsx")
        formats = {10: EXCEL_FORMATS["nombre"], 11: EXCEL_FORMATS["nombre"], 6: EXCEL_FORMATS["date"]}
        write_workbook(output, "Indicateurs", HEADERS, rows, formats, widths={2: 50, 5: 28, 14: 14, 15: 40})
        print(f"Classeur écrit : {output} ({len(rows)} ligne(s)).")
    else:
        print_table(records)
    return EXIT_OK


def print_table(records: list[dict]) -> None:
    headers = ("indicateur", "territoire", "période", "segment", "numérateur", "dénominateur", "valeur")
    lines = [
        (
            r["indicateur"],
            r["territoire"] or r["code_territoire"],
            format_period(r["periode"], r["grain"]),
            r["segment_libelle"] or r["segment"] or "",
            format_count(r["numerateur"]),
            format_count(r["denominateur"]),
            format_value(r["valeur"], r["unite"]) if r["valeur"] is not None else f"non défini : {r['note']}",
        )
        for r in records
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))


def _scope(territory_code: str, connection: duckdb.DuckDBPyConnection) -> tuple:
    from pipelines.cli.report import _scope as scope

    return tuple(scope(territory_code, connection))
