"""`esante rapport [--out DIR]`: the committee pack (HTML dashboard, workbook, PDF) from the published
warehouse, without Dagster. By default into warehouse/rapports/ (the previous versions kept beside the
warehouse versions), or into DIR alone."""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.foundation.settings import Settings

EXIT_OK, EXIT_REJECTED = 0, 1


def register(commands) -> None:
    report = commands.add_parser(
        "rapport",
        help="refait le dossier du comité (tableau de bord HTML, classeur Excel, PDF) depuis l'entrepôt publié",
    )
    report.add_argument(
        "--out",
        "--sortie",
        dest="out",
        type=Path,
        help="dossier où écrire les trois fichiers (défaut : warehouse/rapports/, versions gardées)",
    )
    report.add_argument("--warehouse", type=Path, help="entrepôt publié (défaut : warehouse/esante.duckdb)")
    report.set_defaults(run=command_report)


def command_report(args, settings: Settings) -> int:
    from pipelines.reporting.pack import NoPublishedWarehouse, make_pack
    from pipelines.reporting.scope import LockedWarehouse

    try:
        pack, paths = make_pack(settings, out_dir=args.out)
    except (NoPublishedWarehouse, LockedWarehouse) as error:
        print(str(error), file=sys.stderr)
        return EXIT_REJECTED
    except OSError as error:
        print(
            f"Le dossier du comité n'a pas pu être écrit dans {error.filename or args.out or settings.reports_dir} : "
            f"{error.strerror or error}. Vérifiez le dossier (droits, place libre) puis relancez.",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    print(f"✔ Dossier du comité refait. {pack.identity}.")
    for path in paths:
        print(f"  {shown(path)}")
    return EXIT_OK


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
