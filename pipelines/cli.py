"""`esante`: the command line of the warehouse (French output, for stewards and analysts).

    esante run [--raw DIR] [--warehouse FILE]       rebuild and publish through Dagster
    esante validate FILE [--source ID] [--json]     a steward's pre-flight check of one file
    esante kpi [--indicator ID] [--format ...]      print indicator values from the warehouse

Dagster is imported only by `run`: `validate` and `kpi` stay quick.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from pathlib import Path

from pipelines.settings import PROJECT_ROOT, load_settings

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="esante", description="Entrepôt d'indicateurs e-santé de la Sarthe.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="reconstruit l'entrepôt depuis raw/ (via Dagster) et le publie")
    run.add_argument("--raw", type=Path, help="dossier des dépôts (défaut : raw/ ou $ESANTE_RAW_DIR)")
    run.add_argument("--warehouse", type=Path, help="fichier publié (défaut : warehouse/esante.duckdb ou $ESANTE_WAREHOUSE)")

    validate = commands.add_parser("validate", help="vérifie un fichier avant dépôt (rien n'est écrit)")
    validate.add_argument("file", type=Path)
    validate.add_argument("--source", help="source du fichier (défaut : nom du dossier parent)")
    validate.add_argument("--json", action="store_true", help="rapport JSON pour les machines")

    kpi = commands.add_parser("kpi", help="affiche les valeurs des indicateurs publiés")
    kpi.add_argument("--indicator", help="identifiant d'indicateur (voir kpi.indicator)")
    kpi.add_argument("--level", help="niveau territorial : region, departement, epci, commune")
    kpi.add_argument("--format", choices=("table", "csv", "json"), default="table")
    kpi.add_argument("--warehouse", type=Path)

    dictionary = commands.add_parser("dictionary", help="régénère le dictionnaire des données (DICTIONNAIRE.md)")
    dictionary.add_argument("--warehouse", type=Path)
    dictionary.add_argument("--output", type=Path, default=PROJECT_ROOT / "warehouse" / "DICTIONNAIRE.md")

    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    if args.command == "run":
        return command_run(args)
    if args.command == "validate":
        return command_validate(args)
    if args.command == "dictionary":
        return command_dictionary(args)
    return command_kpi(args)


# --- run -----------------------------------------------------------------------------------------

def use_project_instance() -> None:
    """Runs are recorded in the project's own Dagster instance (dagster.yaml), so the UI shows them."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT)))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_STORAGE_DIR", str(home / ".dagster"))
    os.environ.setdefault("DAGSTER_COMPUTE_LOGS_DIR", str(home / ".dagster" / "compute_logs"))
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def command_run(args) -> int:
    if args.raw:
        os.environ["ESANTE_RAW_DIR"] = str(args.raw.resolve())
    if args.warehouse:
        os.environ["ESANTE_WAREHOUSE"] = str(args.warehouse.resolve())
    use_project_instance()
    settings = load_settings()
    if not settings.raw_dir.is_dir():
        print(f"Dossier des dépôts introuvable : {settings.raw_dir}", file=sys.stderr)
        return EXIT_USAGE

    from pipelines.orchestration import rebuild

    outcome = rebuild(settings)
    print(outcome.report())
    return EXIT_OK if outcome.published else EXIT_REJECTED


# --- validate ------------------------------------------------------------------------------------

def command_validate(args) -> int:
    from pipelines.problems import as_json, errors, summary, warnings
    from pipelines.reference import ReferenceData
    from pipelines.source import discover_units
    from pipelines.validation import parse_upload

    path: Path = args.file
    if not path.is_file():
        print(f"Fichier introuvable : {path}", file=sys.stderr)
        return EXIT_USAGE
    units = {u.source_id: u for u in discover_units()}
    source_id = args.source or path.resolve().parent.name
    unit = units.get(source_id)
    if unit is None:
        print(
            f"Source inconnue : « {source_id} ». Précisez --source parmi : {', '.join(sorted(units))}.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    settings = load_settings()
    upload = parse_upload(path, unit, ReferenceData(settings.reference_dir, settings.territory), settings)
    if args.json:
        print(json.dumps({
            "file": path.name,
            "source": source_id,
            "accepted": upload.accepted,
            "rows": upload.rows,
            "period": upload.period.isoformat() if upload.period else None,
            "sha256": upload.sha256,
            "ignored_columns": upload.ignored_columns,
            "problems": json.loads(as_json(upload.problems)),
        }, ensure_ascii=False, indent=2))
        return EXIT_OK if upload.accepted else EXIT_REJECTED
    print(f"Fichier : {path.name}  (source : {unit.label})")
    if upload.accepted:
        period = upload.period.strftime("%m/%Y") if upload.period else "?"
        print(f"✔ Fichier accepté : {upload.rows} ligne(s), {unit.period_label} {period}.")
    else:
        print(f"✘ Fichier rejeté : {len(errors(upload.problems))} erreur(s). Rien ne sera chargé tant qu'elles ne sont pas corrigées.")
    if upload.ignored_columns:
        print("Colonnes ignorées (hors contrat, non conservées) : " + ", ".join(f"« {c} »" for c in upload.ignored_columns))
    if upload.problems:
        print()
        print(summary(errors(upload.problems) + warnings(upload.problems)))
    return EXIT_OK if upload.accepted else EXIT_REJECTED


# --- kpi -----------------------------------------------------------------------------------------

KPI_QUERY = """
SELECT v.indicator_id, i.label, v.territory_level, v.territory_code, v.period, v.segment,
       v.numerator, v.denominator, v.value, v.unit
FROM kpi.indicator_value AS v
LEFT JOIN kpi.indicator AS i USING (indicator_id)
WHERE ($indicator IS NULL OR v.indicator_id = $indicator)
  AND ($level IS NULL OR v.territory_level = $level)
ORDER BY v.indicator_id, v.territory_level, v.territory_code, v.period, v.segment NULLS FIRST
"""


def command_kpi(args) -> int:
    import duckdb

    path = (args.warehouse or load_settings().warehouse_path).resolve()
    if not path.exists():
        print(f"Aucun entrepôt publié à {path} : lancez d'abord « esante run ».", file=sys.stderr)
        return EXIT_REJECTED
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(KPI_QUERY, {"indicator": args.indicator, "level": args.level}).fetchall()
        columns = [d[0] for d in connection.description]
    if not rows:
        print("Aucune valeur pour ces critères.", file=sys.stderr)
        return EXIT_REJECTED
    records = [dict(zip(columns, row)) for row in rows]
    if args.format == "json":
        print(json.dumps(records, ensure_ascii=False, indent=2, default=str))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, delimiter=";")
        writer.writeheader()
        writer.writerows(records)
    else:
        print_table(records)
    return EXIT_OK


def command_dictionary(args) -> int:
    import duckdb

    from pipelines.dictionary import render

    path = (args.warehouse or load_settings().warehouse_path).resolve()
    if not path.exists():
        print(f"Aucun entrepôt publié à {path} : lancez d'abord « esante run ».", file=sys.stderr)
        return EXIT_REJECTED
    with duckdb.connect(str(path), read_only=True) as connection:
        args.output.write_text(render(connection), encoding="utf-8")
    print(f"Dictionnaire écrit : {args.output}")
    return EXIT_OK


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "taux":
        return f"{value * 100:.1f} %".replace(".", ",")
    if unit == "nombre":
        return f"{value:,.0f}".replace(",", "\u202f")
    return f"{value:.2f}".replace(".", ",")


def format_count(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}".replace(",", "\u202f")


def print_table(records: list[dict]) -> None:
    headers = ("indicateur", "niveau", "code", "période", "segment", "numérateur", "dénominateur", "valeur")
    lines = [
        (r["indicator_id"], r["territory_level"], r["territory_code"], str(r["period"]), r["segment"] or "",
         format_count(r["numerator"]), format_count(r["denominator"]), format_value(r["value"], r["unit"]))
        for r in records
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))


def entry_point() -> None:
    """The `esante` command: main(), then an immediate exit. Everything is closed and flushed by
    then; the interpreter's teardown of the loaded libraries (Dagster, polars, DuckDB, pandas)
    would add close to a second to every command for nothing."""
    try:
        code = main()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`esante kpi … | head`): nothing more to say
        code = EXIT_OK
    os._exit(code)


if __name__ == "__main__":
    entry_point()
