"""The verdicts on a source's uploads, as the warehouse audit and the data-quality checks record them.

`validated_uploads` validates each file once by content (a copy under another name counts once);
`upload_check_results` and `freshness_result` turn verdicts into rows of audit.check_result, which
the Dagster checks, the CLI and the committee pack all read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.contract.unit import SourceUnit
from pipelines.foundation.files import file_sha256
from pipelines.foundation.french import format_month
from pipelines.foundation.problems import errors, summary
from pipelines.foundation.settings import Settings
from pipelines.reference.tables import ReferenceData
from pipelines.validation.isolation import validate_upload
from pipelines.validation.parse import ParsedUpload
from pipelines.validation.uploads import Refused

UPLOADS_CHECK = "fichiers_deposes_valides"
FRESHNESS_CHECK = "source_a_jour"


def validated_uploads(
    unit: SourceUnit, paths: list[Path], reference: ReferenceData, settings: Settings, isolated: bool = True
) -> list[ParsedUpload]:
    """Each file's verdict, in the order given; the same content under another name counts once."""
    uploads, seen = [], set()
    for path in paths:
        sha256 = file_sha256(path)
        if sha256 in seen:
            continue
        seen.add(sha256)
        uploads.append(validate_upload(path, unit, reference, settings, sha256, isolated=isolated))
    return uploads


def upload_check_results(unit: SourceUnit, uploads: list[ParsedUpload], refused: list[Refused] = ()) -> list[dict]:
    """Audit rows per upload: is it valid, and each quality check the unit declares for uploads; and one
    failed row per entry of the folder that is not a regular file."""
    results = []
    for upload in uploads:
        problems = upload.problems
        results.append(
            {
                "check_name": UPLOADS_CHECK,
                "upload_sha256": upload.sha256,
                "severity": "erreur",
                "passed": not errors(problems),
                "message": f"{upload.path.name} : "
                + (summary(errors(problems), 20) if errors(problems) else "fichier accepté."),
            }
        )
        if not upload.accepted:
            continue
        for check in unit.quality_checks:
            if check.stage != "upload":
                continue
            found = [p for p in problems if p.check == check.name]
            results.append(
                {
                    "check_name": check.name,
                    "upload_sha256": upload.sha256,
                    "severity": "erreur" if errors(found) else "avertissement",
                    "passed": not found,
                    "message": f"{upload.path.name} : " + (summary(found, 20) if found else "contrôle passé."),
                }
            )
    for entry in refused:
        results.append(
            {
                "check_name": UPLOADS_CHECK,
                "upload_sha256": None,
                "severity": "avertissement",
                "passed": False,
                "message": entry.message,
            }
        )
    return results


def freshness_result(unit: SourceUnit, uploads: list[ParsedUpload], today: dt.date) -> dict:
    """Is the latest accepted upload recent enough for the source's expected cadence?"""
    periods = [u.period for u in uploads if u.accepted and u.period]
    latest = max(periods, default=None)
    age = (today - latest).days if latest else None
    fresh = age is not None and age <= unit.freshness_days
    when = (
        f"dernier fichier accepté : période {format_month(latest)}, il y a {age} jours"
        if latest
        else "aucun fichier accepté"
    )
    return {
        "check_name": FRESHNESS_CHECK,
        "severity": "avertissement",
        "passed": fresh,
        "message": f"{unit.label} : {when} (attendu : au moins tous les {unit.freshness_days} jours)."
        + ("" if fresh else " Demandez au référent le fichier le plus récent."),
    }
