"""Sample upload for source ``care_registrations`` (CARE cybersecurity programme follow-up).

Running the script (no arguments) writes the October 2024 state for Pays de la Loire::

    raw/care_registrations/2024-10 suivi CARE Pays de la Loire.xlsx

Sheet "Suivi établissements" (title row, empty row, header row 3): one row per eligible
establishment, real FINESS ET numbers of reference/finess_etab_sante_pdl_stock20210108.csv.
140 eligible establishments, 130 registered (130/140 = 92.9 %, published as 93 %), 133 candidates
(every registered one is a candidate; 3 candidates not registered yet). Categories written as
stewards do: "GHT" (public establishments, 78 rows), "ESPIC" / "Privé non lucratif" (36),
"Privé" / "Privé lucratif" (26). Crisis exercises: "Réalisé" 103, "Programmé" 6, "À réaliser" 20
(129 rows with "Exercice de crise requis" = Oui), other rows without status.

Sheet "Synthèse": declared totals as label/value rows, with the roadmap's inconsistency kept on
purpose: "Établissements devant réaliser un exercice de crise" = 126 while the detail rows give
103 + 6 + 20 = 129 (the pipeline must flag it, as a warning).

For tests, :func:`build_care_followup` writes a follow-up with other numbers into any folder.
Only the standard library and openpyxl are used; output is deterministic (fixed seeds).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from pipelines.contract.samples import save_workbook, titled_table

SOURCE_ID = "care_registrations"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "reference"
RAW_DIR = ROOT / "raw" / SOURCE_ID
SEED = 20241015

CATEGORIES = ("ght", "non_lucratif", "prive")
#: (label, weight) pairs: how stewards write each category.
CATEGORY_LABELS = {
    "ght": [("GHT", 1.0)],
    "non_lucratif": [("ESPIC", 0.6), ("Privé non lucratif", 0.4)],
    "prive": [("Privé lucratif", 0.55), ("Privé", 0.45)],
}
HEADERS = [
    "N° FINESS ET",
    "Établissement",
    "Département",
    "Catégorie",
    "Candidat",
    "Inscrit",
    "Date d'inscription",
    "Exercice de crise requis",
    "Statut exercice de crise",
    "Date de l'exercice",
]
DONE, SCHEDULED, TODO = "Réalisé", "Programmé", "À réaliser"


# --------------------------------------------------------------------------- reference


def load_pdl_establishments(reference_dir: Path | str = REFERENCE_DIR) -> dict[str, list[dict]]:
    """Pays de la Loire health establishments of the reference, grouped by CARE category.

    The category is derived from the FINESS ``codesph`` (legal status for the public hospital
    service): 1 (public) -> ``"ght"``; 3, 6, 7 (PSPH, ESPIC, private non-profit) ->
    ``"non_lucratif"``; 0, 9 (not concerned, unknown: commercial clinics) -> ``"prive"``.
    Items: ``{"finess", "raison_sociale", "departement"}`` in file order.
    """
    path = Path(reference_dir) / "finess_etab_sante_pdl_stock20210108.csv"
    groups: dict[str, list[dict]] = {c: [] for c in CATEGORIES}
    with path.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            cat = {"1": "ght", "3": "non_lucratif", "6": "non_lucratif", "7": "non_lucratif"}.get(r["codesph"], "prive")
            groups[cat].append({"finess": r["nofinesset"], "raison_sociale": r["rs"], "departement": r["departement"]})
    return groups


# --------------------------------------------------------------------------- builder


def _pick(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    x, acc = rng.random(), 0.0
    for label, w in choices:
        acc += w
        if x < acc:
            return label
    return choices[-1][0]


def _yes_no(value: bool, rng: random.Random) -> str:
    if rng.random() < 0.92:
        return "Oui" if value else "Non"
    return rng.choice(["oui", "OUI", "X"] if value else ["non", "N"])


def _random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def build_care_followup(
    path: Path | str,
    category_totals: Mapping[str, int] | None = None,
    category_candidates: Mapping[str, int] | None = None,
    category_registered: Mapping[str, int] | None = None,
    crisis_done: int = 103,
    crisis_scheduled: int = 6,
    crisis_todo: int = 20,
    declared_required: int | None = None,
    *,
    state_date: date = date(2024, 10, 15),
    region_label: str = "Pays de la Loire",
    with_summary: bool = True,
    declared_overrides: Mapping[str, int] | None = None,
    reference_dir: Path | str = REFERENCE_DIR,
    establishments: Mapping[str, list[dict]] | None = None,
    seed: int = SEED,
) -> Path:
    """Write a CARE follow-up workbook (detail sheet + optional "Synthèse" sheet).

    Args:
        path: output ``.xlsx`` file (folders created).
        category_totals: eligible rows per category, keys ``"ght"``, ``"non_lucratif"``,
            ``"prive"`` (default 78 / 36 / 26 = 140). Rows are real FINESS ET of the Pays de la
            Loire reference, drawn at random within each category.
        category_candidates: candidates per category (default 78 / 34 / 21).
        category_registered: registered per category, <= candidates (default 77 / 33 / 20).
        crisis_done, crisis_scheduled, crisis_todo: rows with status "Réalisé", "Programmé",
            "À réaliser" (given to registered rows first; "Exercice de crise requis" = Oui on
            exactly these rows, "Non" elsewhere). Their sum must not exceed the row count.
        declared_required: "Établissements devant réaliser un exercice de crise" in the summary
            (default: the consistent value done + scheduled + todo; the sample passes 126).
        state_date: date of the state ("état au ..."); inscriptions and done exercises are
            before it, scheduled exercises after it.
        with_summary: write the "Synthèse" sheet.
        declared_overrides: replace any declared summary value, by its French label.
        establishments: the pools to draw from, by category (items ``{"finess", "raison_sociale",
            "departement"}``); default :func:`load_pdl_establishments` (the benchmarks pass national ones).
        seed: random seed (same arguments + same seed = same file).

    Returns the path written.
    """
    totals = dict(category_totals or {"ght": 78, "non_lucratif": 36, "prive": 26})
    cands = dict(category_candidates or {"ght": 78, "non_lucratif": 34, "prive": 21})
    regs = dict(category_registered or {"ght": 77, "non_lucratif": 33, "prive": 20})
    for c in CATEGORIES:
        totals.setdefault(c, 0), cands.setdefault(c, 0), regs.setdefault(c, 0)
        if not 0 <= regs[c] <= cands[c] <= totals[c]:
            raise ValueError(f"category {c}: need 0 <= registered <= candidates <= total")
    n = sum(totals.values())
    n_crisis = crisis_done + crisis_scheduled + crisis_todo
    if n_crisis > n:
        raise ValueError("more crisis-exercise statuses than rows")

    rng = random.Random(seed)
    pools = establishments or load_pdl_establishments(reference_dir)
    rows = []
    for c in CATEGORIES:
        if totals[c] > len(pools[c]):
            raise ValueError(f"category {c}: only {len(pools[c])} establishments in the reference")
        chosen = rng.sample(pools[c], totals[c])
        status = ["reg"] * regs[c] + ["cand"] * (cands[c] - regs[c]) + ["none"] * (totals[c] - cands[c])
        rng.shuffle(status)
        label_mode = _pick(rng, CATEGORY_LABELS[c])  # a steward tends to keep one spelling...
        for est, st in zip(chosen, status):
            label = label_mode if rng.random() < 0.7 else _pick(rng, CATEGORY_LABELS[c])  # ...mostly
            rows.append(
                {**est, "cat": c, "categorie": label, "candidat": st in ("reg", "cand"), "inscrit": st == "reg"}
            )

    # crisis-exercise statuses: registered rows first, then (if needed) the others
    registered = [r for r in rows if r["inscrit"]]
    others = [r for r in rows if not r["inscrit"]]
    rng.shuffle(registered)
    rng.shuffle(others)
    order = registered + others
    statuses = [DONE] * crisis_done + [SCHEDULED] * crisis_scheduled + [TODO] * crisis_todo
    rng.shuffle(statuses)
    for r, s in zip(order, statuses):
        r["statut"] = s
    first_day = date(2023, 1, 9)
    for r in rows:
        r.setdefault("statut", None)
        r["date_inscription"] = _random_date(rng, first_day, state_date - timedelta(days=20)) if r["inscrit"] else None
        if r["statut"] == DONE:
            start = max(r["date_inscription"] or first_day, date(2023, 3, 1)) + timedelta(days=30)
            r["date_exercice"] = _random_date(
                rng, min(start, state_date - timedelta(days=1)), state_date - timedelta(days=1)
            )
        elif r["statut"] == SCHEDULED:
            r["date_exercice"] = _random_date(rng, state_date + timedelta(days=10), state_date + timedelta(days=120))
        else:
            r["date_exercice"] = None
    rows.sort(key=lambda r: (r["departement"], r["raison_sociale"]))

    declared = {
        "Établissements éligibles": n,
        "Établissements candidats": sum(cands.values()),
        "Établissements inscrits": sum(regs.values()),
        "Établissements devant réaliser un exercice de crise": n_crisis
        if declared_required is None
        else declared_required,
        "Exercices réalisés": crisis_done,
        "Exercices programmés": crisis_scheduled,
        "Exercices à réaliser": crisis_todo,
    }
    declared.update(declared_overrides or {})

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_xlsx(path, rows, declared if with_summary else None, state_date, region_label, rng)
    return path


def _departement_cell(code: str):
    """A number as a steward's Excel holds it (44; 1 for 01), the code as text where it is not one (2A)."""
    return int(code) if code.isdigit() else code


def _write_xlsx(
    path: Path, rows: list[dict], declared: dict | None, state_date: date, region_label: str, rng: random.Random
) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Suivi établissements"
    titled_table(
        ws,
        f"Programme CARE - suivi des établissements de santé - {region_label} - état au {state_date:%d/%m/%Y}",
        HEADERS,
        (
            [
                r["finess"],
                r["raison_sociale"],
                _departement_cell(r["departement"]),
                r["categorie"],
                _yes_no(r["candidat"], rng),
                _yes_no(r["inscrit"], rng),
                r["date_inscription"],
                "Oui" if r["statut"] else "Non",
                r["statut"],
                r["date_exercice"],
            ]
            for r in rows
        ),
        widths=[14, 44, 12, 18, 11, 10, 14, 14, 16, 14],
        fill="FCE4D6",
        freeze="C4",
        with_filter=True,
        formats={1: "@"},  # FINESS numbers are texts
    )
    ws.row_dimensions[3].height = 32

    if declared is not None:
        ss = wb.create_sheet("Synthèse")
        ss["A1"] = f"Synthèse CARE - {region_label} - {state_date:%m/%Y}"
        ss["A1"].font = Font(bold=True, size=13)
        for i, (label, value) in enumerate(declared.items(), start=3):
            ss.cell(row=i, column=1, value=label)
            ss.cell(row=i, column=2, value=value)
        ss.column_dimensions["A"].width = 55
        ss.column_dimensions["B"].width = 10

    stamp = datetime.combine(state_date, datetime.min.time()).replace(hour=17)
    save_workbook(wb, path, creator="GCS e-santé Pays de la Loire", moment=stamp)


# --------------------------------------------------------------------------- main


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """The October 2024 state of Pays de la Loire, with the roadmap's summary (126 declared, 129 in the detail)."""
    return [build_care_followup(folder / "2024-10 suivi CARE Pays de la Loire.xlsx", declared_required=126)]
