"""File pre-flight: decide whether an upload is safe to hand to a parser at all.

Runs before any reader. Rejects, with a French message, files that are empty, too large, of the
wrong format (legacy .xls, .ods, PDF renamed .xlsx), encrypted, zip bombs, XML entity bombs, and
workbooks whose formulas were never computed. Every zip entry is decompressed as a stream with a
byte cap, so a bomb costs at most the cap, never the machine: calamine aborts the whole process on
a zip bomb, and no reader reports an uncached formula (they all return an empty value).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree as SafeET

from pipelines.foundation.files import kind_of, open_regular
from pipelines.foundation.problems import Problem
from pipelines.foundation.settings import Limits

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm"}
TEXT_SUFFIXES = {".csv", ".txt"}
ACCEPTED = "Envoyez le fichier au format .xlsx (Excel) ou .csv (séparateur « ; » ou « , »)."

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
PDF_MAGIC = b"%PDF"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
ENCRYPTED_OOXML_MARKER = "EncryptionInfo".encode("utf-16-le")
XML_BOMB_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")

MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class Preflight:
    """What the pre-flight learned; `problems` empty means the file may be parsed."""

    kind: str | None = None  # "xlsx" or "csv"
    problems: list[Problem] = field(default_factory=list)
    sheet_parts: dict[str, str] = field(default_factory=dict)  # sheet name -> zip part


def check_upload(path: Path, limits: Limits) -> Preflight:
    name = path.name

    def reject(message: str, action: str = ACCEPTED, **where) -> Preflight:
        return Preflight(problems=[Problem(message, action, file=name, check="format", kind="structure", **where)])

    kind = kind_of(path)
    if kind != "fichier":
        return reject(
            f"Ce n'est pas un fichier ordinaire mais un {kind} : il n'est ni suivi ni ouvert.",
            "Déposez le fichier lui-même (une copie), pas un raccourci, un lien ou un dossier.",
        )
    try:
        size = path.lstat().st_size
    except OSError as error:
        return reject(f"Le fichier ne peut pas être lu ({error.strerror}).", "Déposez-le à nouveau.")
    if size == 0:
        return reject("Le fichier est vide (0 octet).", "Déposez à nouveau le fichier complet. " + ACCEPTED)
    if size > limits.max_upload_bytes:
        return reject(
            f"Le fichier est trop volumineux ({size / 1024**2:.0f} Mo, maximum "
            f"{limits.max_upload_bytes / 1024**2:.0f} Mo).",
            "Découpez-le en plusieurs fichiers ou contactez l'équipe données.",
        )
    with open_regular(path) as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()

    if suffix == ".xls" or (head.startswith(OLE2_MAGIC) and suffix not in SPREADSHEET_SUFFIXES):
        return reject(
            "Le fichier est au format Excel 97-2003 (.xls), qui n'est pas accepté.",
            "Ouvrez-le dans Excel puis « Enregistrer sous » > « Classeur Excel (*.xlsx) ».",
        )
    if suffix == ".ods":
        return reject(
            "Le fichier est au format OpenDocument (.ods), qui n'est pas accepté.",
            "Dans LibreOffice : « Enregistrer sous » > « Classeur Excel 2007-365 (.xlsx) ».",
        )
    if head.startswith(PDF_MAGIC):
        return reject(
            "Le fichier est un document PDF, pas un tableau de données.",
            "Envoyez le tableau d'origine. " + ACCEPTED,
        )
    if suffix in SPREADSHEET_SUFFIXES:
        if head.startswith(OLE2_MAGIC):
            if _is_encrypted_ooxml(path):
                return reject(
                    "Le classeur est protégé par un mot de passe : il ne peut pas être lu.",
                    "Ouvrez-le dans Excel, retirez le mot de passe (Fichier > Informations > "
                    "Protéger le classeur > Chiffrer avec mot de passe : effacer) puis déposez-le à nouveau.",
                )
            return reject(
                "Le fichier porte l'extension .xlsx mais il est au format Excel 97-2003 (.xls).",
                "Ouvrez-le dans Excel puis « Enregistrer sous » > « Classeur Excel (*.xlsx) ».",
            )
        if not head.startswith(ZIP_MAGIC):
            return reject("Le fichier porte l'extension .xlsx mais ce n'est pas un classeur Excel.")
        return _check_workbook(path, limits)
    if suffix in TEXT_SUFFIXES:
        if head.startswith((ZIP_MAGIC, OLE2_MAGIC)):
            return reject("Le fichier porte l'extension .csv mais c'est un classeur ou un fichier binaire.")
        if head.startswith(UTF16_BOMS):
            return reject(
                "Le fichier .csv est encodé en UTF-16 (« Texte Unicode » d'Excel), qui n'est pas accepté.",
                "Dans Excel : « Enregistrer sous » > « CSV UTF-8 (délimité par des virgules) (*.csv) », "
                "puis déposez ce fichier.",
            )
        with open_regular(path) as handle:
            if b"\x00" in handle.read(64 * 1024):
                return reject("Le fichier .csv contient des données binaires : ce n'est pas un texte.")
        return Preflight(kind="csv")
    return reject(f"Le format « {suffix or 'sans extension'} » n'est pas accepté.")


def _is_encrypted_ooxml(path: Path) -> bool:
    with open_regular(path) as handle:
        return ENCRYPTED_OOXML_MARKER in handle.read(2 * 1024**2)


def _check_workbook(path: Path, limits: Limits) -> Preflight:
    name = path.name
    bad_zip = Problem(
        "Le classeur est endommagé (archive illisible).",
        "Ouvrez-le dans Excel, enregistrez-le à nouveau au format .xlsx puis déposez-le.",
        file=name,
        check="format",
        kind="structure",
    )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return Preflight(problems=[bad_zip])
    with archive:
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if "xl/workbook.xml" not in names:
            return Preflight(problems=[bad_zip])
        declared = sum(entry.file_size for entry in entries)
        compressed = max(1, path.stat().st_size)
        if (
            len(entries) > limits.max_zip_entries
            or declared > limits.max_uncompressed_bytes
            or declared / compressed > limits.max_compression_ratio
        ):
            return Preflight(problems=[_bomb_problem(name, declared, compressed)])
        formula_parts: list[str] = []
        extents: dict[str, tuple[int, int]] = {}
        budget = limits.max_uncompressed_bytes
        for entry in entries:
            if not entry.filename.endswith((".xml", ".rels")):
                continue
            try:
                outcome = _scan_entry(archive, entry, budget, extents)
            except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, RuntimeError):
                return Preflight(problems=[bad_zip])
            if outcome == "bomb":
                return Preflight(problems=[_bomb_problem(name, declared, compressed)])
            if outcome == "entities":
                return Preflight(
                    problems=[
                        Problem(
                            "Le classeur contient des déclarations XML (DOCTYPE/ENTITY) qu'Excel "
                            "ne produit jamais : il a été fabriqué ou altéré et ne sera pas lu.",
                            "Ouvrez-le dans Excel, enregistrez-le à nouveau au format .xlsx puis déposez-le.",
                            file=name,
                            check="format",
                            kind="structure",
                        )
                    ]
                )
            budget -= entry.file_size
            if outcome == "formulas":
                formula_parts.append(entry.filename)
        try:
            sheet_parts = _sheet_parts(archive)
        except Exception:
            return Preflight(problems=[bad_zip])
        part_to_sheet = {part: sheet for sheet, part in sheet_parts.items()}
        problems = _oversized_sheets(extents, part_to_sheet, name, limits)
        if problems:
            return Preflight(problems=problems)
        for part in formula_parts:
            if part in part_to_sheet:
                problems.extend(_uncached_formulas(archive, part, part_to_sheet[part], name))
    return Preflight(kind="xlsx", problems=problems, sheet_parts=sheet_parts)


def _bomb_problem(name: str, declared: int, compressed: int) -> Problem:
    return Problem(
        f"Le classeur se décompresse en {declared / 1024**2:.0f} Mo pour {compressed / 1024**2:.1f} Mo "
        "sur disque : c'est anormal pour un tableau de données et il ne sera pas lu.",
        "Vérifiez le fichier (feuilles cachées, millions de lignes vides) ; enregistrez-le à nouveau "
        "depuis Excel ou découpez-le.",
        file=name,
        check="format",
        kind="structure",
    )


CELL_REFERENCE = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')


def _scan_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, extents: dict[str, tuple[int, int]]
) -> str:
    """Stream one XML part: 'bomb', 'entities', 'formulas' or 'ok'; for a worksheet, also how far its
    cells reach (rows, columns), into `extents` (a reader builds a grid that large).

    The declared size may lie, so bytes are counted as they come out of the decompressor.
    """
    cap = min(budget, entry.file_size + 1024)
    seen = 0
    tail = b""
    has_formula = False
    sheet = entry.filename.startswith("xl/worksheets/")
    rows = columns = 0
    with archive.open(entry) as stream:
        while chunk := stream.read(1024 * 1024):
            seen += len(chunk)
            if seen > cap:
                return "bomb"
            window = tail + chunk
            if any(marker in window for marker in XML_BOMB_MARKERS):
                return "entities"
            if not has_formula and (b"<f>" in window or b"<f " in window):
                has_formula = True
            if sheet:
                for letters, number in CELL_REFERENCE.findall(window):
                    rows = max(rows, int(number))
                    columns = max(columns, _column_number(letters))
            tail = window[-32:]
    if sheet:
        extents[entry.filename] = (rows, columns)
    return "formulas" if has_formula else "ok"


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _oversized_sheets(
    extents: dict[str, tuple[int, int]], part_to_sheet: dict[str, str], name: str, limits: Limits
) -> list[Problem]:
    """A sheet whose last cell is so far away that reading it would take gigabytes (one stray cell at
    XFD1048576 is enough): told plainly, never handed to a reader."""
    problems = []
    for part, (rows, columns) in extents.items():
        if rows * columns > limits.max_sheet_cells:
            sheet = part_to_sheet.get(part, part)
            problems.append(
                Problem(
                    f"La feuille « {sheet} » s'étend sur {rows:,} lignes et {columns:,} colonnes (une cellule remplie "
                    "très loin du tableau ?) : elle ne peut pas être lue.".replace(",", "\u202f"),
                    "Dans Excel, sélectionnez les lignes et les colonnes vides après le tableau, supprimez-les "
                    "(clic droit > Supprimer), enregistrez puis déposez le fichier à nouveau.",
                    file=name,
                    sheet=sheet,
                    check="feuille_demesuree",
                    kind="structure",
                )
            )
    return problems


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    workbook = SafeET.fromstring(archive.read("xl/workbook.xml"))
    relations = SafeET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in relations.iter(f"{PKG_REL_NS}Relationship")}
    parts = {}
    for sheet in workbook.iter(f"{MAIN_NS}sheet"):
        target = targets.get(sheet.get(f"{REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        parts[sheet.get("name", "")] = part
    return parts


_CELL_REF = re.compile(r"[A-Z]+[0-9]+")


def _uncached_formulas(archive: zipfile.ZipFile, part: str, sheet: str, file: str) -> list[Problem]:
    """Cells holding a formula but no computed value: a tool wrote it and Excel never saved it."""
    problems = []
    with archive.open(part) as stream:
        for _, element in SafeET.iterparse(stream, events=("end",)):
            if element.tag != f"{MAIN_NS}c":
                continue
            formula = element.find(f"{MAIN_NS}f")
            value = element.find(f"{MAIN_NS}v")
            if formula is not None and (value is None or value.text in (None, "")):
                reference = element.get("r", "")
                problems.append(
                    Problem(
                        "La cellule contient une formule dont le résultat n'a jamais été calculé "
                        "(fichier produit par un outil, jamais enregistré par Excel).",
                        "Ouvrez le fichier dans Excel ou LibreOffice, enregistrez-le (les formules "
                        "seront calculées) puis déposez-le à nouveau ; ou remplacez la formule par sa valeur.",
                        file=file,
                        sheet=sheet,
                        row=int(re.sub(r"[A-Z]", "", reference)) if _CELL_REF.fullmatch(reference) else None,
                        cell=reference or None,
                        value=f"={formula.text or ''}",
                        check="formule_non_calculee",
                    )
                )
            element.clear()
    return problems
