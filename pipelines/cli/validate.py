"""`esante validate FILE`: a steward's check of one file before depositing it (nothing is written)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from pipelines.contract.discovery import discover_units, reference_data
from pipelines.foundation.files import kind_of
from pipelines.foundation.problems import as_json, errors, printable, summary, total, warnings
from pipelines.foundation.settings import Settings
from pipelines.validation.isolation import validate_upload
from pipelines.validation.reports import verdict_label

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def command_validate(args, settings: Settings) -> int:
    path: Path = args.file
    if kind_of(path) == "absent":
        print(f"Fichier introuvable : {printable(path)}", file=sys.stderr)
        return EXIT_USAGE
    units = {u.source_id: u for u in discover_units()}
    source_id = args.source or path.resolve().parent.name
    unit = units.get(source_id)
    if unit is None:
        print(
            f"Source inconnue : « {source_id} ». Précisez --source parmi : {', '.join(sorted(units))}.", file=sys.stderr
        )
        return EXIT_USAGE
    reference = reference_data(settings.reference_dir, settings.territory_code)
    with tempfile.TemporaryDirectory(prefix="esante-validate-") as scratch:  # nothing of the project is written
        upload = validate_upload(path, unit, reference, settings, ledger_root=Path(scratch), write_reports=False)
    if args.json:
        print(
            json.dumps(
                {
                    "file": path.name,
                    "source": source_id,
                    "accepted": upload.accepted,
                    "verdict": verdict_label(upload),
                    "rows": upload.rows,
                    "period": upload.period.isoformat() if upload.period else None,
                    "sha256": upload.sha256,
                    "ignored_columns": upload.ignored_columns,
                    "problems": json.loads(as_json(upload.problems)),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK if upload.accepted else EXIT_REJECTED
    print(f"Fichier : {printable(path.name)}  (source : {unit.label})")
    if upload.accepted:
        period = upload.period.strftime("%m/%Y") if upload.period else "?"
        print(
            f"✔ Fichier accepté : {upload.rows} ligne(s), {unit.period_label} {period}"
            + (f", {total(upload.problems)} avertissement(s)." if upload.problems else ".")
        )
    else:
        print(
            f"✘ Fichier rejeté : {total(errors(upload.problems))} erreur(s). Rien ne sera chargé tant qu'elles "
            "ne sont pas corrigées."
        )
    if upload.ignored_columns:
        print(
            "Colonnes ignorées (hors contrat, non conservées) : "
            + ", ".join(f"« {printable(c)} »" for c in upload.ignored_columns)
        )
    if upload.problems:
        print()
        print(summary(errors(upload.problems) + warnings(upload.problems)))
    return EXIT_OK if upload.accepted else EXIT_REJECTED
