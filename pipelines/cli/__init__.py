"""`esante`: the command line of the warehouse (French output, for stewards, analysts and operators).

    esante run [--raw DIR] [--warehouse FILE]        rebuild from raw/ and publish, through Dagster
    esante validate FILE [--source ID] [--json]      a steward's check of one file (nothing is written)
    esante kpi [--indicator ID] [--level NIVEAU] ... indicator values of the published warehouse
    esante ui [--port 3000]                          the Dagster UI and daemon, on the project's instance
    esante docs                                      regenerate docs/sources/ and the data dictionary
    esante echantillons [--out DIR]                  write the units' sample files
    and the commands of the modules in EXTENSIONS (the committee pack, the portal, backups).

Dagster is imported only by `run` and `ui`: `validate` and `kpi` stay quick. A command module of
EXTENSIONS has `register(commands)` (adds its parsers, with `set_defaults(run=...)`) and imports
nothing heavy at module level.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from pipelines.foundation.settings import PROJECT_ROOT, Settings, prepare_dagster_home

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
# Command modules registered beside the built-in commands (each may be absent while it is written).
EXTENSIONS = ("pipelines.cli.reports", "pipelines.cli.backup", "pipelines.portal.cli")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="esante", description="Entrepôt d'indicateurs e-santé de la Sarthe.")
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="reconstruit l'entrepôt depuis raw/ (via Dagster) et le publie")
    run.add_argument("--raw", type=Path, help="dossier des dépôts (défaut : raw/ ou $ESANTE_RAW_DIR)")
    run.add_argument(
        "--warehouse", type=Path, help="fichier publié (défaut : warehouse/esante.duckdb ou $ESANTE_WAREHOUSE)"
    )

    validate = commands.add_parser("validate", help="vérifie un fichier avant dépôt (rien n'est écrit)")
    validate.add_argument("file", type=Path)
    validate.add_argument("--source", help="source du fichier (défaut : nom du dossier parent)")
    validate.add_argument("--json", action="store_true", help="rapport JSON pour les machines")

    kpi = commands.add_parser("kpi", help="affiche les valeurs des indicateurs publiés")
    kpi.add_argument("--indicator", "--indicateur", dest="indicator", help="identifiant d'indicateur")
    kpi.add_argument(
        "--level",
        "--niveau",
        dest="level",
        help="niveau territorial : région, département, EPCI, commune (défaut : le territoire de l'entrepôt)",
    )
    kpi.add_argument(
        "--all-periods",
        "--toutes-periodes",
        dest="all_periods",
        action="store_true",
        help="toutes les périodes (défaut : la dernière)",
    )
    kpi.add_argument("--format", choices=("table", "csv", "json", "xlsx"), default="table")
    kpi.add_argument("--output", "--sortie", dest="output", type=Path, help="fichier à écrire (obligatoire pour xlsx)")
    kpi.add_argument("--warehouse", type=Path)

    ui = commands.add_parser("ui", help="interface Dagster et démon (capteur, horaire) sur 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1")

    commands.add_parser("docs", help="régénère docs/sources/ et warehouse/DICTIONNAIRE.md depuis les unités")

    samples = commands.add_parser("echantillons", help="écrit les fichiers d'exemple des sources")
    samples.add_argument("--out", type=Path, help="dossier racine (défaut : raw/)")
    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if not name.startswith(missing.name or "-"):
                raise
            continue
        module.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    if getattr(args, "raw", None):
        os.environ["ESANTE_RAW_DIR"] = os.path.abspath(args.raw)
    if getattr(args, "warehouse", None):
        os.environ["ESANTE_WAREHOUSE"] = os.path.abspath(args.warehouse)
    settings = Settings.from_environment()
    if getattr(args, "run", None) is not None:  # a command of EXTENSIONS
        return args.run(args, settings)
    if args.command == "run":
        return command_run(settings)
    if args.command == "validate":
        from pipelines.cli.validate import command_validate

        return command_validate(args, settings)
    if args.command == "kpi":
        from pipelines.cli.kpi import command_kpi

        return command_kpi(args, settings)
    if args.command == "ui":
        return command_ui(args, settings)
    if args.command == "docs":
        from pipelines.cli.docs import command_docs

        return command_docs(settings)
    from pipelines.cli.docs import command_samples

    return command_samples(args, settings)


def command_run(settings: Settings) -> int:
    if not settings.raw_dir.is_dir():
        print(f"Dossier des dépôts introuvable : {settings.raw_dir}", file=sys.stderr)
        return EXIT_USAGE
    os.environ.update(prepare_dagster_home(settings))
    waiting = logging.getLogger("esante.attente")
    waiting.addHandler(logging.StreamHandler(sys.stderr))
    waiting.propagate = False

    from pipelines.cli.report import run_report
    from pipelines.orchestration.runs import rebuild

    outcome = rebuild(settings)
    print(run_report(outcome))
    return EXIT_OK if outcome.published else EXIT_REJECTED


def command_ui(args, settings: Settings) -> int:
    """`dg dev`, Dagster's project command (webserver and daemon; [tool.dg] in pyproject.toml names the
    code location), on the project's instance, as `make ui` runs it (listening on 127.0.0.1)."""
    bin_dir = Path(sys.executable).parent
    environment = {
        **os.environ,
        **prepare_dagster_home(settings),
        # dg starts the code location with the project's environment: this one, whoever calls
        "VIRTUAL_ENV": sys.prefix,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    os.chdir(PROJECT_ROOT)  # where dg finds the project (pyproject.toml)
    dg = bin_dir / "dg"
    os.execve(dg, [str(dg), "dev", "--host", args.host, "--port", str(args.port)], environment)
    return EXIT_OK  # not reached


def entry_point() -> None:
    """The `esante` command: main(), then an immediate exit. Everything is closed and flushed by
    then; the interpreter's teardown of the loaded libraries (Dagster, polars, DuckDB) would add
    close to a second to every command for nothing."""
    try:
        code = main()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`esante kpi … | head`): nothing more to say
        code = EXIT_OK
    os._exit(code)


__all__ = ["EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "PROJECT_ROOT", "entry_point", "main"]
