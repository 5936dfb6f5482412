"""Sample upload for source ``tool_satisfaction`` (satisfaction questionnaire of the regional tools).

`esante echantillons` (or :func:`write_samples`) writes the first wave of the questionnaire, autumn 2025, as the
survey tool exports it::

    raw/tool_satisfaction/2025-11 questionnaire satisfaction outils regionaux.csv

A comma-separated UTF-8 export: "Horodateur" (dd/mm/yyyy hh:mm:ss), the respondent's e-mail, last
and first names (fake, and dropped by the pipeline), profession, commune of practice (real Sarthe
communes of reference/cog2025_communes_72.csv, some left empty), the tool assessed (ROR, Télésanté
(Qimed), e-santé Mail, Autre), the score from 1 to 5 and a free comment (not part of the contract:
ignored). 124 answers between 06/10/2025 and 28/11/2025 (the fourth quarter of 2025); the scores
per tool are SCORES (counts of 1, 2, 3, 4 and 5).

For tests, :func:`build_wave` writes a wave with other scores, dates or format (csv or xlsx).
Only the standard library and openpyxl are used; output is deterministic (fixed seed).
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

from pipelines.contract.samples import save_workbook

SOURCE_ID = "tool_satisfaction"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "reference"
RAW_DIR = ROOT / "raw" / SOURCE_ID
SAMPLE_NAME = "2025-11 questionnaire satisfaction outils regionaux.csv"
SEED = 20251128

HEADERS = [
    "Horodateur",
    "Adresse e-mail",
    "Nom",
    "Prénom",
    "Profession",
    "Commune d'exercice (code INSEE)",
    "Outil évalué",
    "Note de satisfaction (1 à 5)",
    "Commentaire",
]
#: How the form writes each tool.
TOOL_WORDS = {"ror": "ROR", "telesante": "Télésanté (Qimed)", "esante_mail": "e-santé Mail", "autre": "Autre"}
#: Number of answers scoring 1, 2, 3, 4 and 5, per tool.
SCORES: dict[str, tuple[int, int, int, int, int]] = {
    "ror": (2, 5, 12, 17, 10),
    "telesante": (1, 3, 8, 15, 11),
    "esante_mail": (3, 5, 9, 9, 5),
    "autre": (1, 2, 3, 2, 1),
}
PROFESSIONS = [
    "Médecin généraliste",
    "Infirmier(ère) libéral(e)",
    "Infirmier(ère) coordinateur(trice) en EHPAD",
    "Pharmacien(ne) d'officine",
    "Secrétaire médicale",
    "Cadre de santé",
    "Masseur-kinésithérapeute",
    "Sage-femme",
    "Coordinateur(trice) de MSP",
    "Assistant(e) social(e)",
]
COMMUNES = ["72181", "72181", "72181", "72154", "72264", "72180", "72132", "72003", "72095", "72071", "72269"]
FIRST_NAMES = ["Marie", "Thomas", "Claire", "Nicolas", "Julie", "Antoine", "Sophie", "Pierre", "Camille", "Lucas"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre", "Roux", "Fournier", "Girard", "Bonnet"]
COMMENTS = ["", "", "", "Outil utile, mais lent à l'ouverture.", "Très pratique au quotidien.", "Manque de formation."]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def build_wave(
    path: Path | str,
    scores: Mapping[str, Sequence[int]] = SCORES,
    *,
    first_day: date = date(2025, 10, 6),
    last_day: date = date(2025, 11, 28),
    communes: Sequence[str] = COMMUNES,
    without_commune: float = 0.1,
    seed: int = SEED,
) -> Path:
    """Write a wave: for each tool, scores[tool][k] answers scoring k + 1, dated between the two days
    (csv with commas in UTF-8, or xlsx by the suffix of `path`)."""
    rng = random.Random(seed)
    answers = [(tool, score) for tool, counts in scores.items() for score, n in enumerate(counts, 1) for _ in range(n)]
    rng.shuffle(answers)
    span = (last_day - first_day).days
    rows = []
    for tool, score in answers:
        moment = datetime.combine(first_day + timedelta(days=rng.randint(0, span)), datetime.min.time()) + timedelta(
            seconds=rng.randint(8 * 3600, 19 * 3600)
        )
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        rows.append(
            [
                moment,
                f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@sante.example.fr",
                last.upper(),
                first,
                rng.choice(PROFESSIONS),
                "" if rng.random() < without_commune else rng.choice(communes),
                TOOL_WORDS.get(tool, tool),
                score,
                rng.choice(COMMENTS),
            ]
        )
    rows.sort(key=lambda row: row[0])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            for row in rows:
                writer.writerow([f"{row[0]:%d/%m/%Y %H:%M:%S}", *row[1:]])
        return path
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Réponses au formulaire 1"
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a text, never a formula
    moment = datetime.combine(last_day, datetime.min.time()).replace(hour=18)
    return save_workbook(workbook, path, creator=None, moment=moment)


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """The first wave of the questionnaire (autumn 2025)."""
    return [build_wave(Path(folder) / SAMPLE_NAME)]
