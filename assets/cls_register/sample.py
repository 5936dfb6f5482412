"""Sample upload for source ``cls_register`` (local health contracts of the Sarthe).

`esante echantillons` (or :func:`write_samples`) writes the register of June 2025::

    raw/cls_register/2025-06 registre CLS Sarthe.xlsx

Sheet "CLS" (a title row, an empty row, the header on row 3): twelve contracts over real Sarthe
EPCIs of reference/cog2025_epci_72.csv, written as the delegation would (an EPCI by its name or
its SIREN, one contract by the list of the communes it covers: the three EPCIs of the Perche
sarthois). Nine are signed and in force in June 2025, six of them with a digital-health axis
(6 / 9 = 66,7 %, against the roadmap's target of 100 %), among which the CLS of the Communauté de
communes du Val de Sarthe, under which the 2023 e-health evening was held; one has expired
(Loir-Lucé-Bercé, 2024) and two are being prepared.

The contracts are illustrative: the EPCIs and communes are real, the dates and axes are not
official figures. For tests, :func:`build_cls_register` writes any list of contracts (xlsx or
csv). Only the standard library and openpyxl are used; output is deterministic.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

from pipelines.contract.samples import save_workbook, titled_table, write_csv

SOURCE_ID = "cls_register"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "reference"
RAW_DIR = ROOT / "raw" / SOURCE_ID
SAMPLE_NAME = "2025-06 registre CLS Sarthe.xlsx"

HEADERS = [
    "Identifiant",
    "Nom du CLS",
    "EPCI",
    "Communes couvertes",
    "Date de signature",
    "Date de fin",
    "Statut",
    "Axe numérique en santé",
    "Nombre d'actions e-santé",
]
KEYS = ["identifiant", "nom", "epci", "communes", "date_signature", "date_fin", "statut", "axe", "actions"]
PERCHE_EPCI = ("200072684", "247200686", "200072692")  # Gesnois Bilurien, Huisne Sarthoise, Braye et Anille


def communes_of_epci(sirens: Sequence[str], reference_dir: Path | str = REFERENCE_DIR) -> list[str]:
    """Codes of the Sarthe communes of these EPCIs (COG 2025), in code order."""
    with (Path(reference_dir) / "cog2025_communes_72.csv").open(encoding="utf-8", newline="") as handle:
        return sorted(row["code_insee"] for row in csv.DictReader(handle) if row["epci_siren"] in sirens)


def sample_contracts(reference_dir: Path | str = REFERENCE_DIR) -> list[dict]:
    """The sample register's contracts (dicts with the keys of KEYS; absent keys are empty cells)."""
    perche = ", ".join(communes_of_epci(PERCHE_EPCI, reference_dir))
    return [
        {
            "identifiant": "CLS-72-01",
            "nom": "Contrat local de santé du Val de Sarthe",
            "epci": "CC du Val de Sarthe",
            "date_signature": date(2023, 3, 16),
            "date_fin": date(2027, 12, 31),
            "statut": "Signé",
            "axe": "Oui",
            "actions": 3,
        },
        {
            "identifiant": "CLS-72-02",
            "nom": "Contrat local de santé de Le Mans Métropole",
            "epci": "247200132",
            "date_signature": date(2022, 6, 30),
            "date_fin": date(2026, 12, 31),
            "statut": "Signé",
            "axe": "Oui",
            "actions": 4,
        },
        {
            "identifiant": "CLS-72-03",
            "nom": "Contrat local de santé du Pays Fléchois",
            "epci": "CC du Pays Fléchois",
            "date_signature": date(2021, 11, 18),
            "date_fin": date(2025, 12, 31),
            "statut": "Signé",
            "axe": "Non",
            "actions": 0,
        },
        {
            "identifiant": "CLS-72-04",
            "nom": "Contrat local de santé du Pays Sabolien",
            "epci": "247200090",
            "date_signature": date(2022, 1, 27),
            "date_fin": date(2026, 6, 30),
            "statut": "en vigueur",
            "axe": "oui",
            "actions": 2,
        },
        {
            "identifiant": "CLS-72-05",
            "nom": "Contrat local de santé Sud Sarthe",
            "epci": "CC Sud Sarthe",
            "date_signature": date(2023, 9, 28),
            "date_fin": date(2028, 9, 30),
            "statut": "Signé",
            "axe": "Oui",
            "actions": 1,
        },
        {
            "identifiant": "CLS-72-06",
            "nom": "Contrat local de santé de Loir-Lucé-Bercé",
            "epci": "200070373",
            "date_signature": date(2020, 2, 13),
            "date_fin": date(2024, 12, 31),
            "statut": "Échu",
            "axe": "Non",
        },
        {
            "identifiant": "CLS-72-07",
            "nom": "Contrat local de santé du Pays du Perche sarthois",
            "communes": perche,
            "date_signature": date(2024, 1, 25),
            "date_fin": date(2028, 12, 31),
            "statut": "Signé",
            "axe": "Oui",
            "actions": 2,
        },
        {
            "identifiant": "CLS-72-08",
            "nom": "Contrat local de santé du Maine Saosnois",
            "epci": "CC Maine Saosnois",
            "date_signature": date(2021, 5, 20),
            "date_fin": date(2026, 5, 31),
            "statut": "Signé",
            "axe": "Non",
            "actions": 0,
        },
        {
            "identifiant": "CLS-72-09",
            "nom": "Contrat local de santé Haute Sarthe Alpes Mancelles",
            "epci": "200072700",
            "statut": "En préparation",
            "axe": "Oui",
            "actions": 2,
        },
        {
            "identifiant": "CLS-72-10",
            "nom": "Contrat local de santé de la Champagne Conlinoise et du Pays de Sillé",
            "epci": "CC de la Champagne Conlinoise et du Pays de Sillé",
            "statut": "en cours d'élaboration",
            "axe": "Non",
        },
        {
            "identifiant": "CLS-72-11",
            "nom": "Contrat local de santé de LBN Communauté",
            "epci": "200040475",
            "date_signature": date(2023, 11, 23),
            "date_fin": date(2028, 11, 30),
            "statut": "Signé",
            "axe": "Oui",
            "actions": 1,
        },
        {
            "identifiant": "CLS-72-12",
            "nom": "Contrat local de santé du Sud Est Manceau",
            "epci": "CC du Sud Est Manceau",
            "date_signature": date(2024, 9, 26),
            "date_fin": date(2029, 9, 30),
            "statut": "Signé",
            "axe": "Non",
        },
    ]


def build_cls_register(path: Path | str, contracts: Sequence[dict], *, stamp: date = date(2025, 6, 30)) -> Path:
    """Write a register (xlsx with a title row, or csv with `;` in UTF-8) of these contracts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [[contract.get(key) for key in KEYS] for contract in contracts]
    if path.suffix.lower() == ".csv":
        return write_csv(path, HEADERS, rows)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "CLS"
    titled_table(
        sheet,
        f"Contrats locaux de santé de la Sarthe - registre au {stamp:%d/%m/%Y}",
        HEADERS,
        rows,
        widths=[12, 55, 36, 40, 14, 14, 18, 14, 12],
        fill="E2EFDA",
        wrapped=[KEYS.index("communes") + 1],
    )
    moment = datetime.combine(stamp, datetime.min.time()).replace(hour=17)
    return save_workbook(workbook, path, creator="ARS Pays de la Loire - DT 72", moment=moment)


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """The register of June 2025."""
    return [build_cls_register(Path(folder) / SAMPLE_NAME, sample_contracts())]
