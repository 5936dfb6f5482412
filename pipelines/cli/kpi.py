"""`esante kpi`: indicator values of the published warehouse, with names of places, in French formats.

Without options: the latest value of every indicator for the territory in scope (and its région).
`--indicator`, `--level` (région, département, EPCI, commune: case and accents do not matter),
`--all-periods`; `--format csv` is the French Excel dialect, `--format xlsx` a workbook.
"""

from __future__ import annotations

import json
import sys

from pipelines.foundation.files import write_atomically
from pipelines.foundation.french import format_count, format_period, format_value
from pipelines.foundation.settings import Settings
from pipelines.foundation.text import word_key
from pipelines.reporting.scope import LockedWarehouse, open_published, scope_of
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
    "intercommunalite": "epci",
    "intercommunalites": "epci",
    "epcis": "epci",
    "france": "france",
    "pays": "france",
}
LEVEL_NAMES = "région, département, EPCI, commune, France"
# Excel display format of the value column, by unit
VALUE_FORMATS = {"taux": EXCEL_FORMATS["taux"], "nombre": EXCEL_FORMATS["nombre"], "moyenne": "0.0"}
PERIOD_FORMATS = {"mois": EXCEL_FORMATS["mois"], "trimestre": EXCEL_FORMATS["mois"], "annee": "yyyy"}
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


__all__ = ["LockedWarehouse", "command_kpi", "open_published"]


def command_kpi(args, settings: Settings) -> int:
    path = settings.warehouse_path
    if not path.exists():
        print(f"Aucun entrepôt publié à {path} : lancez d'abord « esante run ».", file=sys.stderr)
        return EXIT_REJECTED
    level = None
    if args.level:
        level = LEVELS.get(word_key(args.level))
        if level is None:
            print(f"Niveau inconnu : « {args.level} ». Niveaux possibles : {LEVEL_NAMES}.", file=sys.stderr)
            return EXIT_USAGE
    if args.format == "xlsx" and not args.output:
        print(
            "--format xlsx écrit un classeur : donnez son nom avec --sortie, par exemple --sortie indicateurs.xlsx.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        connection = open_published(path)
    except LockedWarehouse as locked:
        print(str(locked), file=sys.stderr)
        return EXIT_REJECTED
    with connection:
        known = dict(
            connection.execute(
                "SELECT indicator_id, label FROM kpi.indicator ORDER BY objective, indicator_id"
            ).fetchall()
        )
        indicator = args.indicator.strip().lower() if args.indicator else None
        if indicator and indicator not in known:
            listed = "\n".join(f"  {i} : {label}" for i, label in known.items())
            print(f"Indicateur inconnu : « {args.indicator} ». Indicateurs possibles :\n{listed}", file=sys.stderr)
            return EXIT_USAGE
        found = scope_of(settings.territory_code, connection)
        scope = (found.level, found.code, found.region)
        rows = connection.execute(
            QUERY.format(columns=", ".join(COLUMNS), view="v_series" if args.all_periods else "v_dernieres_valeurs"),
            {
                "indicator": indicator,
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
            write_atomically(args.output, text)
            print(f"Fichier CSV écrit : {args.output} ({len(rows)} ligne(s)).", file=sys.stderr)
        else:
            sys.stdout.write(text)
    elif args.format == "xlsx":
        formats = {10: EXCEL_FORMATS["nombre"], 11: EXCEL_FORMATS["nombre"]}
        unit_column, grain_column = COLUMNS.index("unite"), COLUMNS.index("grain")
        write_workbook(
            args.output,
            "Indicateurs",
            HEADERS,
            rows,
            formats,
            widths={2: 50, 5: 28, 14: 14, 15: 40},
            row_formats={
                6: lambda row: PERIOD_FORMATS.get(row[grain_column], EXCEL_FORMATS["date"]),
                12: lambda row: VALUE_FORMATS.get(row[unit_column], EXCEL_FORMATS["decimal"]),
            },
        )
        print(f"Classeur écrit : {args.output} ({len(rows)} ligne(s)).")
    else:
        print_table(records)
    return EXIT_OK


def print_table(records: list[dict]) -> None:
    headers = ("indicateur", "territoire", "période", "segment", "numérateur", "dénominateur", "valeur", "identifiant")
    lines = [
        (
            r["libelle"],
            r["territoire"] or r["code_territoire"],
            format_period(r["periode"], r["grain"]),
            r["segment_libelle"] or r["segment"] or "",
            format_count(r["numerateur"]),
            format_count(r["denominateur"]),
            format_value(r["valeur"], r["unite"]) if r["valeur"] is not None else f"non défini : {r['note']}",
            r["indicateur"],
        )
        for r in records
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
