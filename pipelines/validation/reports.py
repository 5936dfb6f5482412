"""What a steward gets back beside a rejected upload: a French report and, for a workbook, an
annotated copy with each faulty cell filled red and commented. The upload itself is never touched.

Reports live in raw/<source>/_rejets/ (ignored when uploads are listed), named after the upload.
Each is written atomically, rewritten when it is missing, unreadable or about another content
under the same name, and retired once the upload is accepted or gone: what is in `_rejets/` is
always about the files in the folder now. The annotated copy is bounded: past a number of cells
or a sheet size, the text report alone is written and says why.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from pipelines.foundation.files import atomic_path, kind_of, write_atomically
from pipelines.foundation.problems import Problem, errors, summary, total, warnings
from pipelines.foundation.settings import Limits
from pipelines.validation.parse import ParsedUpload

REJECTIONS_FOLDER = "_rejets"
TEXT_SUFFIX, WORKBOOK_SUFFIX = ".rapport.txt", ".annote.xlsx"


def append_as_text(sheet, values: list) -> None:
    """Append a row whose texts stay texts: openpyxl would store "=..." as a formula Excel runs."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def report_paths(upload_path: Path) -> tuple[Path, Path]:
    folder = upload_path.parent / REJECTIONS_FOLDER
    return folder / f"{upload_path.name}{TEXT_SUFFIX}", folder / f"{upload_path.name}{WORKBOOK_SUFFIX}"


def verdict_label(upload: ParsedUpload) -> str:
    """The three levels stewards know from the public-sector validators."""
    if not upload.accepted:
        return "invalide"
    return "valide avec avertissements" if upload.problems else "valide"


def report_text(upload: ParsedUpload, note: str = "") -> str:
    """The French report: verdict, structure problems apart from content problems, counts, what to do."""
    found = errors(upload.problems)
    lines = [
        f"Fichier rejeté : {upload.path.name}" if not upload.accepted else f"Fichier accepté : {upload.path.name}",
        f"Empreinte SHA-256 : {upload.sha256}",
        f"Verdict : {verdict_label(upload)} ({total(found)} erreur(s), {total(warnings(upload.problems))} "
        "avertissement(s)).",
    ]
    if not upload.accepted:
        lines += [
            "Rien n'a été chargé dans l'entrepôt. Corrigez les points ci-dessous puis déposez le fichier corrigé",
            "(le fichier d'origine n'a pas été modifié).",
        ]
    if note:
        lines.append(note)
    for kind, title in (("structure", "Structure du fichier"), ("contenu", "Contenu des cellules")):
        chosen = [p for p in upload.problems if p.kind == kind]
        if chosen:
            lines += ["", f"{title} :", summary(chosen, limit=2000)]
    return "\n".join(lines) + "\n"


def write_rejection_report(upload: ParsedUpload, limits: Limits) -> list[Path]:
    """Write the report (and the annotated workbook when the file could be opened); return the paths."""
    text_path, workbook_path = report_paths(upload.path)
    if _current(text_path, workbook_path, upload):
        return [p for p in (text_path, workbook_path) if p.exists()]
    note = ""
    annotate = upload.path.suffix.lower() in (".xlsx", ".xlsm") and _can_annotate(upload.problems)
    if annotate and upload.sheet_cells > limits.annotated_sheet_cells:
        annotate = False
        note = (
            f"Pas de copie annotée : la feuille « {upload.sheet} » s'étend sur {upload.sheet_cells:,} cellules "
            "(des lignes ou colonnes vides très loin en bas ou à droite ?). Supprimez les lignes et colonnes "
            "vides après le tableau, enregistrez, puis déposez à nouveau."
        ).replace(",", "\u202f")
    cells = [p for p in upload.problems if p.cell and re.fullmatch(r"[A-Z]+[0-9]+", p.cell)]
    if annotate and len(cells) > limits.annotated_cells:
        note = (
            f"Copie annotée : seules les {limits.annotated_cells} premières cellules en cause sont colorées "
            f"(sur {len(cells)}) ; la liste complète est ci-dessous et dans la feuille « Problèmes »."
        )
    written = []
    if annotate and any(p.row for p in upload.problems):
        _annotate_workbook(upload, cells[: limits.annotated_cells], workbook_path)
        written.append(workbook_path)
    else:
        workbook_path.unlink(missing_ok=True)  # one about an earlier content would mislead
    write_atomically(text_path, report_text(upload, note))  # last: it marks the set as complete
    return [text_path, *written]


def _current(text_path: Path, workbook_path: Path, upload: ParsedUpload) -> bool:
    """The reports already there are about this content, complete and readable."""
    try:
        head = text_path.read_text(encoding="utf-8", errors="replace")[:500]
    except OSError:
        return False
    if upload.sha256 not in head:
        return False
    if workbook_path.exists():
        try:
            with zipfile.ZipFile(workbook_path) as archive:
                return archive.testzip() is None
        except (zipfile.BadZipFile, OSError):
            return False
    return True


def retire_reports(folder: Path, rejected_names: set[str]) -> list[Path]:
    """Remove the reports of uploads that are no longer rejected (accepted since, or gone)."""
    reports = folder / REJECTIONS_FOLDER
    if kind_of(reports) != "dossier":
        return []
    retired = []
    for path in reports.iterdir():
        name = path.name
        for suffix in (TEXT_SUFFIX, WORKBOOK_SUFFIX):
            if name.endswith(suffix) and name[: -len(suffix)] not in rejected_names:
                path.unlink(missing_ok=True)
                retired.append(path)
    return retired


def _can_annotate(problems: list[Problem]) -> bool:
    """Only workbooks that passed the pre-flight (format problems mean the file must not be opened)."""
    return not any(p.check in ("format", "limites", "lecture") for p in problems)


def _annotate_workbook(upload: ParsedUpload, cells: list[Problem], target: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    red = PatternFill(start_color="FFFF9999", end_color="FFFF9999", fill_type="solid")
    workbook = load_workbook(upload.path)  # the pre-flight bounded its size and refused XML entities
    comments: dict[tuple[str, str], list[str]] = {}
    for problem in cells:
        sheet = problem.sheet if problem.sheet in workbook.sheetnames else workbook.sheetnames[0]
        comments.setdefault((sheet, problem.cell), []).append(f"{problem.message} → {problem.action}")
    for (sheet, cell), texts in comments.items():
        target_cell = workbook[sheet][cell]
        target_cell.fill = red
        target_cell.comment = Comment("\n".join(texts), "Entrepôt e-santé")  # comments are never evaluated
    listing = workbook.create_sheet("Problèmes", 0)
    listing.append(
        ["Gravité", "Nature", "Feuille", "Ligne", "Colonne", "Cellule", "Valeur trouvée", "Problème", "Que faire"]
    )
    for problem in upload.problems:
        append_as_text(
            listing,
            [
                problem.severity,
                problem.kind,
                problem.sheet,
                problem.row,
                problem.column,
                problem.cell,
                problem.value,
                problem.message,
                problem.action,
            ],
        )
    for column, width in zip("ABCDEFGHI", (14, 10, 20, 8, 28, 9, 24, 80, 80)):
        listing.column_dimensions[column].width = width
    listing.freeze_panes = "A2"
    workbook.active = 0
    with atomic_path(target) as temporary:
        workbook.save(temporary)
