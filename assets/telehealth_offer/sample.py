"""Sample workbooks of the telehealth source, as the regional platform's team would send them.

The shipped sample (`write_samples`) is the state of 17/10/2024: the 28 structures the press release
« Télémédecine en Sarthe » names (seeds/003), each matched by name and commune to its FINESS ET in
the reference (the liberal practice has none), with statuses consistent with the release (7 of the
15 phase-1 requesting structures and 1 of the 12 phase-2 EHPAD performing acts); 26 specialties open
in téléexpertise on the regional platform (the roadmap's figure, data of 17/10/2024); and a summary
declaring 27 structures, as the release does twice. `build_workbook` writes other states for tests.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from pipelines.contract.samples import save_workbook, titled_table

SOURCE_ID = "telehealth_offer"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "reference"
RAW_DIR = ROOT / "raw" / SOURCE_ID
STATE_DATE = date(2024, 10, 17)  # the roadmap: « 26 spécialités … données du 17/10/2024 »
SAMPLE_NAME = "2024-10-17 telesante Sarthe.xlsx"

STRUCTURE_HEADERS = [
    "Structure",
    "N° FINESS ET",
    "Code commune",
    "Commune",
    "Type de structure",
    "Rôle",
    "Phase",
    "Filière",
    "Statut",
    "Date du premier acte",
]
OFFER_HEADERS = ["Date de l'état", "Spécialité", "Mode", "Requis", "Statut"]
ACT_HEADERS = ["Mois", "Structure", "N° FINESS ET", "Téléexpertises", "Téléconsultations"]
TYPE_CATEGORIES = {
    "Centre hospitalier": {"101", "106", "292", "355"},
    "EHPAD": {"500", "501", "502"},
    "MSP": {"603"},
    "Centre de santé": {"124"},
    "FAM": {"437", "448"},
    "Cabinet libéral": set(),
}
DERMATOLOGY = "Dermatologie"
DEPLOYMENT_DAY = date(2018, 10, 1)  # the deployment began in October 2018 (press release, calendar)


@dataclass(frozen=True)
class Structure:
    """One row of the « Structures » sheet, as the steward writes it."""

    name: str
    finess: str | None
    commune_code: str | None
    commune: str | None
    type_word: str  # "EHPAD", "MSP"…
    role: str  # "Structure d'appui", "Requérante"…
    phase: int | str
    filiere: str
    status: str  # "Réalise des actes", "Formée"…
    first_act: date | None = None


# --- the structures of the press release --------------------------------------------------------------

# (name as in the release, type, words of its name in the reference, commune of the search (None: any),
#  phase, role, status, first act). The words are looked up in the FINESS reference (raison sociale) and
# in the CNSA EHPAD file (names of sites: « EHPAD Maine Coeur de Sarthe - Site Bel Air »).
RELEASE: tuple[tuple, ...] = (
    ("Centre Hospitalier du Mans", "Centre hospitalier", "centre hospitalier du mans", "72181", 1, "Structure d'appui",
     "Réalise des actes", date(2019, 1, 21)),
    # phase 1: 15 requesting structures (8 EHPAD, 3 MSP, 1 liberal practice, 2 municipal health centres, 1 FAM);
    # the pilots and two others perform acts: « Sept d'entre elles sont déjà en mesure d'effectuer des actes »
    ("EHPAD Bel Air", "EHPAD", "bel air", "72023", 1, "Requérante", "Formée", None),
    ("EHPAD Les Tilleuls", "EHPAD", "tilleuls", "72334", 1, "Requérante", "Réalise des actes", date(2019, 5, 14)),
    ("EHPAD La Souvenance", "EHPAD", "souvenance", "72181", 1, "Requérante", "Réalise des actes", date(2019, 1, 29)),
    ("EHPAD Joliot Curie", "EHPAD", "joliot curie", "72181", 1, "Requérante", "Réalise des actes", date(2019, 2, 5)),
    ("EHPAD Jean Jaurès", "EHPAD", "jean jaures", "72181", 1, "Requérante", "Réalise des actes", date(2019, 2, 5)),
    ("EHPAD Résidence Amicie", "EHPAD", "amicie", "72241", 1, "Requérante", "Formée", None),
    ("EHPAD CEGVS", "EHPAD", "cegvs", "72253", 1, "Requérante", "Équipée", None),
    ("EHPAD Alain et Jean Crapez", "EHPAD", "crapez", "72231", 1, "Requérante", "Formée", None),
    ("MSP de Ballon-Saint-Mars", "MSP", "maison de sante de ballon", None, 1, "Requérante", "Équipée", None),
    ("MSP de Sillé-le-Guillaume", "MSP", "sille le guillaume", "72334", 1, "Requérante", "Réalise des actes",
     date(2019, 3, 12)),
    ("MSP du Mans Quartiers Sud", "MSP", "quartiers sud", "72181", 1, "Requérante", "Formée", None),
    ("Maison de santé libérale d'Écommoy", "Cabinet libéral", None, "72124", 1, "Requérante", "Équipée", None),
    ("Centre municipal de santé de Connerré", "Centre de santé", "centre municipal de sante de connerre", "72090", 1,
     "Requérante", "Formée", None),
    ("Centre municipal de santé de la ville du Mans", "Centre de santé", "centre municipal de sante", "72181", 1,
     "Requérante", "Réalise des actes", date(2019, 6, 4)),
    ("Foyer d'accueil médicalisé Les Cèdres (ADAPEI)", "FAM", "cedres", "72280", 1, "Requérante",
     "Réalise des actes", date(2019, 4, 9)),
    # phase 2: 12 EHPAD; « L'un des établissements a pu procéder aux premiers actes au mois de juin »
    ("EHPAD de l'hôpital local de Bonnétable", "EHPAD", "bonnetable", "72039", 2, "Requérante",
     "Réalise des actes", date(2019, 6, 18)),
    ("EHPAD Delante", "EHPAD", "delante", "72220", 2, "Requérante", "Prévue", None),
    ("EHPAD Eugène Aujaleu", "EHPAD", "aujaleu", "72143", 2, "Requérante", "Prévue", None),
    ("EHPAD Le Tusson", "EHPAD", "tusson", "72262", 2, "Requérante", "Prévue", None),
    ("EHPAD Les Chanterelles", "EHPAD", "chanterelles", "72189", 2, "Requérante", "Prévue", None),
    ("EHPAD Les Fresnes - Les Châtaigniers", "EHPAD", "fresnes", "72138", 2, "Requérante", "Prévue", None),
    ("EHPAD Albert Trotte", "EHPAD", "albert trotte", "72358", 2, "Requérante", "Prévue", None),
    ("EHPAD de l'Abbaye", "EHPAD", "abbaye", "72363", 2, "Requérante", "Prévue", None),
    ("EHPAD Les Thérébinthes", "EHPAD", "terebinthes", "72231", 2, "Requérante", "Prévue", None),
    ("EHPAD de Fontenay", "EHPAD", "fontenay", "72262", 2, "Requérante", "Prévue", None),
    ("EHPAD La Chanterie", "EHPAD", "chanterie", "72096", 2, "Requérante", "Prévue", None),
    ("EHPAD Bertrand de Puisard", "EHPAD", "bertrand de puisard", "72289", 2, "Requérante", "Prévue", None),
)  # fmt: skip

# 26 specialties open in téléexpertise on the regional platform for the Sarthe on 17/10/2024, with the
# téléconsultations of the deployment's filières and two specialties suspended (not counted).
OPEN_EXPERTISE: tuple[tuple[str, str], ...] = (
    (DERMATOLOGY, "CH Le Mans - service de dermatologie"),
    (DERMATOLOGY, "CHU d'Angers - dermatologie"),
    ("Cardiologie", "CH Le Mans - cardiologie"),
    ("Gériatrie", "CH Le Mans - pôle gériatrie"),
    ("Géronto-psychiatrie", "EPSM de la Sarthe"),
    ("Psychiatrie", "EPSM de la Sarthe"),
    ("Neurologie", "CH Le Mans - neurologie"),
    ("Endocrinologie - diabétologie", "CH Le Mans - endocrinologie"),
    ("Néphrologie", "CH Le Mans - néphrologie"),
    ("Pneumologie", "CH Le Mans - pneumologie"),
    ("Rhumatologie", "CHU d'Angers - rhumatologie"),
    ("Gastro-entérologie", "CH Le Mans - hépato-gastro-entérologie"),
    ("Hématologie", "CHU d'Angers - hématologie"),
    ("Oncologie médicale", "CH Le Mans - oncologie"),
    ("Ophtalmologie", "CHU de Nantes - ophtalmologie"),
    ("ORL", "CH Le Mans - ORL"),
    ("Plaies et cicatrisation", "CH Le Mans - équipe plaies et cicatrisation"),
    ("Médecine vasculaire", "CH Le Mans - médecine vasculaire"),
    ("Urologie", "CH Le Mans - urologie"),
    ("Gynécologie-obstétrique", "CH Le Mans - gynécologie"),
    ("Pédiatrie", "CH Le Mans - pédiatrie"),
    ("Infectiologie", "CHU d'Angers - maladies infectieuses"),
    ("Médecine physique et de réadaptation", "Pôle Santé Sarthe et Loir"),
    ("Soins palliatifs", "CH Le Mans - équipe mobile de soins palliatifs"),
    ("Addictologie", "CH Le Mans - addictologie"),
    ("Allergologie", "CHU de Nantes - allergologie"),
    ("Médecine interne", "CHU d'Angers - médecine interne"),
)
OTHER_OFFER: tuple[tuple[str, str, str, str], ...] = (
    (DERMATOLOGY, "Téléconsultation", "CH Le Mans - service de dermatologie", "Ouverte"),
    ("Gériatrie", "Téléconsultation", "CH Le Mans - pôle gériatrie", "Ouverte"),
    ("Géronto-psychiatrie", "Téléconsultation", "EPSM de la Sarthe", "Ouverte"),
    ("Chirurgie vasculaire", "Téléexpertise", "CHU de Nantes - chirurgie vasculaire", "Suspendue"),
    ("Neurochirurgie", "Téléexpertise", "CHU d'Angers - neurochirurgie", "Suspendue"),
)


def key(text: object) -> str:
    """Lower case, no accents, words separated by one space (for the search by name)."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def communes(reference_dir: Path | str = REFERENCE_DIR) -> dict[str, str]:
    return {r["code_insee"]: r["nom"] for r in _read_csv(Path(reference_dir) / "cog2025_communes_72.csv")}


def find_finess(
    words: str, commune: str | None, categories: Iterable[str], reference_dir: Path | str = REFERENCE_DIR
) -> tuple[str, str] | None:
    """(FINESS ET, commune) of the only establishment of these categories whose name (in the FINESS
    reference, or a site's name in the CNSA EHPAD file) holds these words, in that commune (None: any);
    None when there is not exactly one."""
    folder = Path(reference_dir)
    establishments = {r["nofinesset"]: r for r in _read_csv(folder / "finess_et_72_stock20210108.csv")}
    names = {finess: [key(r["rs"])] for finess, r in establishments.items()}
    for site in _read_csv(folder / "ehpad_72_cnsa_prix_crosscheck_2025.csv"):
        names.setdefault(site["nofinesset"], []).append(key(site["nom"]))
    wanted, allowed = f" {key(words)} ", set(categories)
    found = {
        finess
        for finess, row in establishments.items()
        if row["categetab"] in allowed
        and (commune is None or row["code_insee_derive"] == commune)
        and any(wanted in f" {name} " for name in names[finess])
    }
    if len(found) != 1:
        return None
    finess = found.pop()
    return finess, establishments[finess]["code_insee_derive"]


def release_structures(reference_dir: Path | str = REFERENCE_DIR) -> list[Structure]:
    """The 28 structures of the press release, each with its FINESS ET and commune from the reference
    where one is found (otherwise the FINESS is left empty: the file then says so)."""
    names = communes(reference_dir)
    structures = []
    for name, type_word, words, commune, phase, role, status, first_act in RELEASE:
        found = find_finess(words, commune, TYPE_CATEGORIES[type_word], reference_dir) if words else None
        finess, code = found if found else (None, commune)
        structures.append(
            Structure(
                name=name,
                finess=finess,
                commune_code=code,
                commune=names.get(code or ""),
                type_word=type_word,
                role=role,
                phase=phase,
                filiere="Dermatologie ; gériatrie" if role == "Structure d'appui" else DERMATOLOGY,
                status=status,
                first_act=first_act,
            )
        )
    return structures


def release_offer(state_date: date = STATE_DATE) -> list[tuple[date, str, str, str, str]]:
    rows = [(state_date, name, "Téléexpertise", requis, "Ouverte") for name, requis in OPEN_EXPERTISE]
    rows += [(state_date, *row) for row in OTHER_OFFER]
    return rows


# --- other states, for tests ------------------------------------------------------------------------------


def drawn_structures(
    phases: Mapping[int, tuple[int, int]],
    *,
    seed: int = 7,
    reference_dir: Path | str = REFERENCE_DIR,
    state_date: date = STATE_DATE,
) -> list[Structure]:
    """A deployment of real establishments of the reference: the CH du Mans as support, then for each
    phase (requesting structures, of which performing acts) EHPAD, MSP and centres de santé drawn at
    random (same seed, same draw)."""
    rng = random.Random(seed)
    names = communes(reference_dir)
    pool = [
        r
        for r in _read_csv(Path(reference_dir) / "finess_et_72_stock20210108.csv")
        if r["categetab"] in ("500", "603", "124") and r["code_insee_derive"] in names
    ]
    words = {"500": "EHPAD", "603": "MSP", "124": "Centre de santé"}
    chosen = rng.sample(pool, sum(total for total, _ in phases.values()))
    support = find_finess("centre hospitalier du mans", "72181", {"355"}, reference_dir)
    structures = [
        Structure("Centre Hospitalier du Mans", support[0], support[1], names[support[1]], "Centre hospitalier",
                  "Structure d'appui", 1, DERMATOLOGY, "Réalise des actes", date(2019, 1, 21)),
    ]  # fmt: skip
    for phase, (total, active) in sorted(phases.items()):
        drawn, chosen = chosen[:total], chosen[total:]
        for index, row in enumerate(drawn):
            performing = index < active
            structures.append(
                Structure(
                    name=row["rs"].title(),
                    finess=row["nofinesset"],
                    commune_code=row["code_insee_derive"],
                    commune=names[row["code_insee_derive"]],
                    type_word=words[row["categetab"]],
                    role="Requérante",
                    phase=phase,
                    filiere=DERMATOLOGY,
                    status="Réalise des actes" if performing else rng.choice(["Prévue", "Équipée", "Formée"]),
                    first_act=DEPLOYMENT_DAY + timedelta(days=rng.randint(90, (state_date - DEPLOYMENT_DAY).days))
                    if performing
                    else None,
                )
            )
    return structures


def offer_of(state_date: date, open_expertise: int, suspended: int = 1, consultations: int = 2) -> list[tuple]:
    """An offer with `open_expertise` distinct specialties open in téléexpertise (the first one twice,
    with two expert structures), `suspended` more suspended, and téléconsultations."""
    names = [name for name, _ in OPEN_EXPERTISE[1:]] + [name for name, *_ in OTHER_OFFER]
    distinct = list(dict.fromkeys([DERMATOLOGY, *names]))
    if open_expertise + suspended > len(distinct):
        raise ValueError("not that many specialties")
    rows = [(state_date, name, "Téléexpertise", f"Requis {name}", "Ouverte") for name in distinct[:open_expertise]]
    if open_expertise:
        rows.append((state_date, distinct[0], "Téléexpertise", "Second requis", "Ouverte"))
    rows += [
        (state_date, name, "Téléexpertise", f"Requis {name}", "Suspendue")
        for name in distinct[open_expertise : open_expertise + suspended]
    ]
    rows += [(state_date, name, "Téléconsultation", f"Requis {name}", "Ouverte") for name in distinct[:consultations]]
    return rows


# --- the workbook -----------------------------------------------------------------------------------------


TABLE_LAYOUT = {"freeze": "B4", "with_filter": True}


def build_workbook(
    path: Path | str,
    structures: list[Structure] | None = None,
    offer: list[tuple] | None = None,
    *,
    state_date: date = STATE_DATE,
    declared: Mapping[str, int] | None = None,
    acts: list[tuple] | None = None,
    with_offer: bool = True,
) -> Path:
    """Write a telehealth workbook: « Structures », « Offre » (unless with_offer is False), « Actes »
    (rows (month, structure name, FINESS, téléexpertises, téléconsultations), when given) and
    « Synthèse » (label -> number, when given; the first line written « label : number » in one cell)."""
    structures = release_structures() if structures is None else structures
    offer = release_offer(state_date) if offer is None else offer
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Structures"
    titled_table(
        sheet,
        f"Télémédecine en Sarthe - structures du déploiement - état au {state_date:%d/%m/%Y}",
        STRUCTURE_HEADERS,
        (
            [
                s.name,
                s.finess,
                s.commune_code,
                s.commune,
                s.type_word,
                s.role,
                s.phase,
                s.filiere,
                s.status,
                s.first_act,
            ]
            for s in structures
        ),
        widths=[44, 14, 12, 26, 18, 18, 8, 24, 18, 14],
        formats={2: "@", 3: "@"},  # FINESS and COG codes are texts (a leading zero must not be lost)
        **TABLE_LAYOUT,
    )
    if with_offer:
        titled_table(
            workbook.create_sheet("Offre"),
            "Offre de téléexpertise et de téléconsultation - plateforme régionale Qimed - Sarthe",
            OFFER_HEADERS,
            offer,
            widths=[14, 36, 18, 44, 12],
            **TABLE_LAYOUT,
        )
    if acts is not None:
        titled_table(
            workbook.create_sheet("Actes"),
            "Actes de télémédecine par mois et par structure",
            ACT_HEADERS,
            ([f"{month:%m/%Y}", name, finess, expertises, consultations]
             for month, name, finess, expertises, consultations in acts),
            widths=[10, 44, 14, 14, 16],
            **TABLE_LAYOUT,
        )  # fmt: skip
    if declared:
        summary = workbook.create_sheet("Synthèse")
        summary["A1"] = f"Synthèse du déploiement - état au {state_date:%d/%m/%Y}"
        summary["A1"].font = Font(bold=True, size=13)
        for i, (label, value) in enumerate(declared.items(), start=3):
            if i == 3:
                summary.cell(row=i, column=1, value=f"{label} : {value}").data_type = "s"
            else:
                summary.cell(row=i, column=1, value=label).data_type = "s"
                summary.cell(row=i, column=2, value=value)
        summary.column_dimensions["A"].width = 48

    stamp = datetime.combine(state_date, datetime.min.time()).replace(hour=17)
    return save_workbook(workbook, Path(path), creator="GCS e-santé Pays de la Loire", moment=stamp)


RELEASE_SUMMARY = {
    "Structures du déploiement": 27,  # the release says 27 twice, and names 28
    "Structures requérantes en phase 1": 15,
    "Structures requérantes en phase 2": 12,
    "Spécialités ouvertes en téléexpertise": 26,
}


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """The state of 17/10/2024: the release's 28 structures, 26 specialties, a summary declaring 27."""
    return [build_workbook(Path(folder) / SAMPLE_NAME, declared=RELEASE_SUMMARY)]
