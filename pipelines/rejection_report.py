"""What a steward gets back beside a rejected upload: a French report and, for a workbook, an
annotated copy with each faulty cell filled red and commented. The upload itself is never touched.

Reports live in raw/<source>/_rejets/ (ignored by the pipeline when it lists uploads).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.problems import Problem, summary

REJECTIONS_FOLDER = "_rejets"


def append_as_text(sheet, values: list) -> None:
    """Append a row whose texts stay texts: openpyxl would store "=..." as a formula Excel runs."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def report_paths(upload_path: Path) -> tuple[Path, Path]:
    folder = upload_path.parent / REJECTIONS_FOLDER
    return folder / f"{upload_path.name}.rapport.txt", folder / f"{upload_path.stem}.annote.xlsx"


def write_rejection_report(upload_path: Path, problems: list[Problem], sha256: str) -> list[Path]:
    """Write the report (and the annotated workbook when the file could be opened); return the paths."""
    text_path, workbook_path = report_paths(upload_path)
    if text_path.exists() and sha256 in text_path.read_text(encoding="utf-8", errors="replace")[:500]:
        return [p for p in (text_path, workbook_path) if p.exists()]  # already reported for this content
    text_path.parent.mkdir(exist_ok=True)
    header = (
        f"Fichier rejeté : {upload_path.name}\n"
        f"Empreinte SHA-256 : {sha256}\n"
        "Rien n'a été chargé dans l'entrepôt. Corrigez les points ci-dessous puis déposez le fichier corrigé\n"
        "(le fichier d'origine n'a pas été modifié).\n\n"
    )
    text_path.write_text(header + summary(problems, limit=2000) + "\n", encoding="utf-8")
    written = [text_path]
    if upload_path.suffix.lower() == ".xlsx" and any(p.cell or p.row for p in problems) and _can_annotate(problems):
        _annotate_workbook(upload_path, problems, workbook_path)
        written.append(workbook_path)
    return written


def _can_annotate(problems: list[Problem]) -> bool:
    """Only workbooks that passed the pre-flight (format problems mean the file must not be opened)."""
    return not any(p.check == "format" for p in problems)


def _annotate_workbook(source: Path, problems: list[Problem], target: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    red = PatternFill(start_color="FFFF9999", end_color="FFFF9999", fill_type="solid")
    workbook = load_workbook(source)  # the pre-flight bounded its size and refused XML entities
    comments: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        if not problem.cell or not re.fullmatch(r"[A-Z]+[0-9]+", problem.cell):
            continue
        sheet = problem.sheet if problem.sheet in workbook.sheetnames else workbook.sheetnames[0]
        comments.setdefault((sheet, problem.cell), []).append(f"{problem.message} → {problem.action}")
    for (sheet, cell), texts in comments.items():
        target_cell = workbook[sheet][cell]
        target_cell.fill = red
        target_cell.comment = Comment("\n".join(texts), "Entrepôt e-santé")  # comments are never evaluated
    listing = workbook.create_sheet("Problèmes", 0)
    listing.append(["Gravité", "Feuille", "Ligne", "Colonne", "Cellule", "Valeur trouvée", "Problème", "Que faire"])
    for problem in problems:
        append_as_text(listing, [
            problem.severity, problem.sheet, problem.row, problem.column, problem.cell, problem.value,
            problem.message, problem.action,
        ])
    for column, width in zip("ABCDEFGH", (14, 20, 8, 28, 9, 24, 80, 80)):
        listing.column_dimensions[column].width = width
    workbook.active = 0
    workbook.save(target)
