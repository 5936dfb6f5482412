"""The French page of each source's contract, generated from its unit (docs/sources/<source>.md).

Stewards read it (the portal links to it): what one file is, the columns with their accepted
headers and values, the rules, and an example. A test fails when a page is out of date, like the
data dictionary: `esante docs` writes them again.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.contract.unit import SourceUnit
from pipelines.ingest.values import KINDS, choice_expected
from pipelines.reference.tables import ReferenceData

OBJECTIVES = {
    1: "Inclusion numérique",
    2: "Mon espace santé",
    3: "Élus et contrats locaux de santé",
    4: "Cybersécurité",
    5: "Ressources et événements",
    6: "Télésanté",
    7: "Messageries sécurisées",
    8: "Ergonomie des outils",
}
UNITS = {"taux": "taux (entre 0 et 100 %)", "nombre": "nombre", "par habitant": "par habitant", "moyenne": "moyenne"}


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _values(column, reference: ReferenceData) -> str:
    if column.kind == "personal":
        return "donnée personnelle : reconnue et jamais conservée"
    if column.kind == "choice":
        words = column.words(reference)
        shown = choice_expected(words)
        return f"{shown} ({len(words)} formes reconnues)" if callable(column.choices) else shown
    return KINDS[column.kind].expected


def source_page(unit: SourceUnit, reference: ReferenceData) -> str:
    lines = [
        f"# {unit.label} (`{unit.source_id}`)",
        "",
        "Page générée depuis l'unité de la source (`assets/" + unit.source_id + "/`) par `esante docs` ; ne pas "
        "modifier à la main.",
        "",
        f"- **Objectif de la feuille de route** : {unit.objective}, {OBJECTIVES.get(unit.objective, '')}.",
        f"- **Qui envoie les fichiers** : {unit.steward}.",
        f"- **Où les déposer** : `raw/{unit.source_id}/` (ou le portail des référents).",
        f"- **Cadence attendue** : au moins un fichier tous les {unit.freshness_days} jours.",
        f"- **Formats** : `.xlsx` (feuille « {' », « '.join(unit.sheet_names) or 'la première'} », sinon la première ; "
        "des lignes de titre peuvent précéder l'en-tête) ou `.csv` (`;` ou `,`, UTF-8 ou Windows-1252).",
        "",
        "## Le fichier",
        "",
        unit.contract,
        "",
        "## Colonnes",
        "",
        "Majuscules, accents, espaces, ponctuation, retours à la ligne et « ? » final des en-têtes sont "
        "indifférents. Les colonnes non prévues sont ignorées (et signalées).",
        "",
        "| colonne | obligatoire | en-têtes reconnus | valeurs attendues |",
        "|---|---|---|---|",
    ]
    for column in unit.columns:
        required = "oui" if column.required else ("valeur requise" if not column.nullable else "non")
        values = _values(column, reference) + (f" — {column.help}" if column.help else "")
        lines.append(
            f"| {column.label} (`{column.name}`) | {required} | "
            f"{', '.join(f'« {h} »' for h in column.headers)} | {_cell(values)} |"
        )
    rules = [r.description for r in unit.rules if getattr(r, "description", "")]
    if rules or unit.quality_checks:
        lines += ["", "## Règles", ""]
        lines += [f"- {' '.join(r.split())}" for r in rules]
        lines += [f"- Contrôle de qualité `{c.name}` : {c.description}" for c in unit.quality_checks]
    lines += ["", "## Indicateurs calculés", "", "| indicateur | libellé | unité | définition |", "|---|---|---|---|"]
    for indicator in unit.indicators:
        lines.append(
            f"| `{indicator.indicator_id}` | {indicator.label} | {UNITS.get(indicator.unit, indicator.unit)} | "
            f"{_cell(indicator.definition)} |"
        )
    example = [c for c in unit.columns if c.kind != "personal"][:6]
    lines += [
        "",
        "## Exemple",
        "",
        "| " + " | ".join(c.headers[0] for c in example) + " |",
        "|" + "---|" * len(example),
    ]
    lines.append("| " + " | ".join(_example(c, reference) for c in example) + " |")
    return "\n".join(lines) + "\n"


EXAMPLES = {
    "text": "…",
    "yes_no": "Oui",
    "integer": "12",
    "decimal": "3,5",
    "rate": "69 %",
    "date": "03/06/2024",
    "datetime": "03/06/2024 10:15",
    "month": "11/2024",
    "finess": "720000017",
    "commune": "72181",
}


def _example(column, reference: ReferenceData) -> str:
    if column.kind == "choice":
        return next(iter(column.words(reference)))
    return EXAMPLES.get(column.kind, "")


def index_page(units: list[SourceUnit]) -> str:
    lines = [
        "# Sources de l'entrepôt",
        "",
        "Pages générées par `esante docs` depuis les unités de `assets/`.",
        "",
        "| source | dossier de dépôt | objectif | cadence attendue |",
        "|---|---|---|---|",
    ]
    for unit in units:
        lines.append(
            f"| [{unit.label}]({unit.source_id}.md) | `raw/{unit.source_id}/` | {unit.objective} | "
            f"{unit.freshness_days} jours |"
        )
    return "\n".join(lines) + "\n"


def write_pages(folder: Path, units: list[SourceUnit], reference: ReferenceData) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for unit in units:
        path = folder / f"{unit.source_id}.md"
        path.write_text(source_page(unit, reference), encoding="utf-8")
        written.append(path)
    (folder / "README.md").write_text(index_page(units), encoding="utf-8")
    return [*written, folder / "README.md"]
