"""Sample upload for source ``events`` (register of e-health promotion and inclusion actions).

`esante echantillons` (or :func:`write_samples`) writes the register as the ARS delegation keeps it at the end
of 2024::

    raw/events/2024-12 registre evenements e-sante 72.xlsx

Sheet "Registre" (a title row, an empty row, the header on row 3), one row per event:

- the departmental e-health day of 12/10/2023 in Le Mans (the roadmap, objective 5): 110
  participants, 8 workshops, 14 experience reports of which 8 on telehealth, 12 partner stands;
- the 2023 evening of the Communauté de communes du Val de Sarthe, held under its local health
  contract (CLS) on the e-health tools, in La Suze-sur-Sarthe (objective 3);
- a year (2024) of Mon espace santé activation workshops and awareness mornings in real Sarthe
  communes (reference/cog2025_communes_72.csv), with CPAM support visits to EHPAD and ESMS,
  digital mediation in Le Mans and Allonnes, training sessions for professionals, stands and
  departmental webinars (no commune: the whole département);
- a few workshops of the last quarter of 2023, which give no experience report, so that the
  quarter's reports on telehealth are the day's 8.

Types are written as stewards do ("Atelier MES", "atelier d'activation Mon espace santé",
"Matinée"...), some rows name their roadmap objectives ("1, 2", "Objectif 3"), others leave them
to their type. The participants of the workshops and mornings are drawn with a fixed seed.

For tests, :func:`build_register` writes any list of events (xlsx or csv) and
:func:`sample_events` gives the sample's events with other numbers on request.
Only the standard library and openpyxl are used; output is deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

from pipelines.contract.samples import save_workbook, titled_table, write_csv

SOURCE_ID = "events"
ROOT = Path(__file__).resolve().parents[2]
RAW_DIR = ROOT / "raw" / SOURCE_ID
SAMPLE_NAME = "2024-12 registre evenements e-sante 72.xlsx"
SEED = 20241231

HEADERS = [
    "Date",
    "Intitulé",
    "Type d'action",
    "Objectif(s)",
    "Organisateur",
    "Lieu",
    "Code commune",
    "EPCI",
    "Public",
    "Nombre de participants",
    "Ateliers proposés",
    "Retours d'expérience",
    "dont télésanté",
    "Stands partenaires",
]
KEYS = [
    "date",
    "intitule",
    "type",
    "objectifs",
    "organisateur",
    "lieu",
    "code_commune",
    "epci",
    "public",
    "participants",
    "ateliers",
    "retours_experience",
    "retours_experience_telesante",
    "stands",
]

#: The roadmap's departmental e-health day: participants, workshops, experience reports, of which on
#: telehealth, partner stands.
JOURNEE = (110, 8, 14, 8, 12)

# Real Sarthe communes (COG 2025): code, name.
WORKSHOP_COMMUNES = [
    ("72181", "Le Mans"),
    ("72154", "La Flèche"),
    ("72264", "Sablé-sur-Sarthe"),
    ("72180", "Mamers"),
    ("72071", "Montval-sur-Loir"),
    ("72132", "La Ferté-Bernard"),
    ("72269", "Saint-Calais"),
    ("72334", "Sillé-le-Guillaume"),
    ("72003", "Allonnes"),
    ("72095", "Coulaines"),
    ("72058", "Changé"),
    ("72124", "Écommoy"),
    ("72168", "Loué"),
    ("72039", "Bonnétable"),
    ("72346", "La Suze-sur-Sarthe"),
    ("72138", "Fresnay-sur-Sarthe"),
    ("72176", "Le Lude"),
    ("72241", "Montfort-le-Gesnois"),
    ("72029", "Beaumont-sur-Sarthe"),
    ("72223", "Noyen-sur-Sarthe"),
]
MORNING_COMMUNES = [
    ("72181", "Le Mans"),
    ("72154", "La Flèche"),
    ("72264", "Sablé-sur-Sarthe"),
    ("72132", "La Ferté-Bernard"),
    ("72180", "Mamers"),
    ("72089", "Conlie"),
    ("72231", "Parigné-l'Évêque"),
    ("72213", "Mulsanne"),
    ("72179", "Malicorne-sur-Sarthe"),
    ("72071", "Montval-sur-Loir"),
]
WORKSHOP_WORDS = ["Atelier MES", "Atelier MES", "atelier d'activation Mon espace santé", "Atelier Mon espace santé"]
WORKSHOP_ORGANISERS = ["CPAM de la Sarthe", "France Services", "Conseiller numérique", "CPAM de la Sarthe"]
EHPAD_VISITS = [  # CPAM support of EHPAD and, since 2024, of establishments for disabled people
    (date(2024, 2, 6), "72181", "Le Mans", "EHPAD"),
    (date(2024, 3, 19), "72264", "Sablé-sur-Sarthe", "EHPAD"),
    (date(2024, 5, 14), "72154", "La Flèche", "EHPAD"),
    (date(2024, 6, 25), "72180", "Mamers", "ESMS (foyer d'accueil médicalisé)"),
    (date(2024, 9, 17), "72132", "La Ferté-Bernard", "EHPAD"),
    (date(2024, 11, 5), "72003", "Allonnes", "ESMS (maison d'accueil spécialisée)"),
]


def _workshop(day: date, commune: tuple[str, str], rng: random.Random, *, objectifs: str | None = None) -> dict:
    code, name = commune
    return {
        "date": day,
        "intitule": f"Atelier d'activation Mon espace santé - {name}",
        "type": rng.choice(WORKSHOP_WORDS),
        "objectifs": objectifs,
        "organisateur": rng.choice(WORKSHOP_ORGANISERS),
        "lieu": name,
        "code_commune": code,
        "public": "Citoyens",
        "participants": rng.randint(6, 22),
    }


def sample_events(seed: int = SEED, journee: tuple[int, int, int, int, int] = JOURNEE) -> list[dict]:
    """The sample register's events (dicts with the keys of KEYS; absent keys are empty cells)."""
    rng = random.Random(seed)
    participants, workshops, reports, telehealth, stands = journee
    events = [
        {
            "date": date(2023, 6, 13),
            "intitule": "Soirée « Outils de la e-santé (téléconsultation, téléexpertise, télérégulation) et "
            "Mon espace santé »",
            "type": "Soirée élus",
            "objectifs": "Objectif 3",
            "organisateur": "Communauté de communes du Val de Sarthe (CLS), avec l'ARS, l'Assurance Maladie et le "
            "GCS e-santé",
            "lieu": "La Suze-sur-Sarthe",
            "code_commune": "72346",
            "epci": "CC du Val de Sarthe",
            "public": "Mixte",
            "participants": 64,
            "retours_experience": 4,
            "retours_experience_telesante": 3,
            "stands": 5,
        },
        {
            "date": date(2023, 10, 12),
            "intitule": "Journée départementale de la e-santé",
            "type": "Journée départementale",
            "objectifs": "5",
            "organisateur": "ARS Pays de la Loire (DT 72), Assurance Maladie, GCS e-santé Pays de la Loire",
            "lieu": "Le Mans",
            "code_commune": "72181",
            "public": "Mixte",
            "participants": participants,
            "ateliers": workshops,
            "retours_experience": reports,
            "retours_experience_telesante": telehealth,
            "stands": stands,
        },
        _workshop(date(2023, 11, 21), ("72181", "Le Mans"), rng),
        _workshop(date(2023, 12, 5), ("72264", "Sablé-sur-Sarthe"), rng),
    ]
    # 2024: two workshops a month, an awareness morning most months
    for month in range(1, 13):
        for day in (9, 23):
            commune = WORKSHOP_COMMUNES[(month * 2 + (day > 15)) % len(WORKSHOP_COMMUNES)]
            events.append(_workshop(date(2024, month, day), commune, rng, objectifs="1, 2" if day > 15 else None))
        if month not in (7, 8):
            code, name = MORNING_COMMUNES[(month - 1) % len(MORNING_COMMUNES)]
            events.append(
                {
                    "date": date(2024, month, 16),
                    "intitule": f"Matinée de sensibilisation au numérique en santé - {name}",
                    "type": "Matinée de sensibilisation" if month % 3 else "Matinée",
                    "organisateur": "ARS DT 72 et conseillers numériques France Services",
                    "lieu": name,
                    "code_commune": code,
                    "public": "Citoyens" if month % 2 else "Mixte",
                    "participants": rng.randint(18, 55),
                    "stands": rng.randint(2, 4),
                }
            )
    for day, code, name, kind in EHPAD_VISITS:
        events.append(
            {
                "date": day,
                "intitule": f"Accompagnement Mon espace santé des résidents - {kind} - {name}",
                "type": "Accompagnement EHPAD" if kind == "EHPAD" else "Accompagnement ESMS",
                "organisateur": "CPAM de la Sarthe",
                "lieu": name,
                "code_commune": code,
                "public": "Professionnels",
                "participants": rng.randint(8, 20),
            }
        )
    for day, code, name in (
        (date(2024, 3, 12), "72181", "Le Mans (quartier des Sablons)"),
        (date(2024, 6, 11), "72003", "Allonnes"),
        (date(2024, 9, 10), "72181", "Le Mans (quartier Ronceray-Glonnières)"),
        (date(2024, 12, 10), "72003", "Allonnes"),
    ):
        events.append(
            {
                "date": day,
                "intitule": "Permanence de médiation numérique en santé",
                "type": "Médiation numérique",
                "organisateur": "Conseillers numériques France Services",
                "lieu": name,
                "code_commune": code,
                "public": "Citoyens",
                "participants": rng.randint(5, 15),
            }
        )
    for day, title in (
        (date(2024, 2, 1), "Webinaire : Mon espace santé pour les professionnels de santé"),
        (date(2024, 5, 23), "Webinaire : messagerie sécurisée de santé et zéro fax"),
        (date(2024, 11, 28), "Webinaire : cybersécurité des établissements (CARE)"),
    ):
        events.append(
            {
                "date": day,
                "intitule": title,
                "type": "Webinaire",
                "organisateur": "GCS e-santé Pays de la Loire",
                "public": "Professionnels",
                "participants": rng.randint(30, 90),
                "retours_experience": 2,
                "retours_experience_telesante": 0,
            }
        )
    for day, code, name in ((date(2024, 4, 9), "72181", "Le Mans"), (date(2024, 10, 15), "72154", "La Flèche")):
        events.append(
            {
                "date": day,
                "intitule": "Formation des professionnels de santé à Mon espace santé et au DMP",
                "type": "Formation des professionnels de santé",
                "organisateur": "CPAM de la Sarthe et URPS",
                "lieu": name,
                "code_commune": code,
                "public": "Professionnels",
                "participants": rng.randint(12, 30),
            }
        )
    for day, title, epci in (
        (date(2024, 6, 1), "Stand Mon espace santé - forum santé du Pays Fléchois", "CC du Pays Fléchois"),
        (date(2024, 9, 21), "Stand Mon espace santé - fête de la santé du Sud Sarthe", "200073112"),
    ):
        events.append(
            {
                "date": day,
                "intitule": title,
                "type": "Stand",
                "objectifs": "1, 2",
                "organisateur": "Ambassadeurs Mon espace santé",
                "epci": epci,
                "public": "Citoyens",
                "participants": rng.randint(40, 120),
            }
        )
    events.sort(key=lambda e: (e["date"], e["intitule"]))
    return events


def build_register(path: Path | str, events: Sequence[dict], *, stamp: date = date(2024, 12, 31)) -> Path:
    """Write a register (xlsx with a title row, or csv with `;` in UTF-8) of these events."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [[event.get(key) for key in KEYS] for event in events]
    if path.suffix.lower() == ".csv":
        return write_csv(path, HEADERS, rows)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Registre"
    titled_table(
        sheet,
        "Registre des événements et actions e-santé - Sarthe",
        HEADERS,
        rows,
        widths=[12, 60, 30, 12, 40, 30, 12, 24, 14, 12, 10, 12, 10, 10],
        freeze="C4",
        formats={KEYS.index("code_commune") + 1: "@"},  # INSEE codes are texts
    )
    moment = datetime.combine(stamp, datetime.min.time()).replace(hour=17)
    return save_workbook(workbook, path, creator="ARS Pays de la Loire - DT 72", moment=moment)


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """The register at the end of 2024, with the roadmap's e-health day of 12/10/2023."""
    return [build_register(Path(folder) / SAMPLE_NAME, sample_events())]
