"""Source `tool_satisfaction`: the satisfaction questionnaire of the regional e-health tools (ROR,
Télésanté/Qimed, e-santé Mail), roadmap objective 8 ("Création d'un questionnaire de satisfaction à
destination des utilisateurs").

One file is one wave of the questionnaire (an export of the survey tool): one row per respondent
and tool assessed, with a score from 1 to 5. Respondents' names and e-mails are recognised as
personal columns and dropped when the file is read: they never reach the warehouse. A new file for
the same wave replaces it. The contract, in French, is the generated page docs/sources/tool_satisfaction.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.tool_satisfaction import sample
from pipelines.contract import (
    ROW,
    Column,
    Indicator,
    Problem,
    ReferenceData,
    SourceUnit,
    UploadedRow,
    UploadRows,
    month_in_name,
    rule,
)

TOOLS: dict[str, str] = {
    **dict.fromkeys(("ROR", "Répertoire opérationnel des ressources", "ROR Pays de la Loire", "répertoire ROR"), "ror"),
    **dict.fromkeys(
        (
            "Télésanté (Qimed)",
            "Qimed",
            "Télésanté",
            "plateforme de télésanté",
            "téléexpertise",
            "téléconsultation",
            "Télésanté Pays de la Loire",
        ),
        "telesante",
    ),
    **dict.fromkeys(
        (
            "e-santé Mail",
            "esante mail",
            "messagerie e-santé Mail",
            "e-santé Mail (MSSanté)",
            "messagerie sécurisée e-santé",
        ),
        "esante_mail",
    ),
    **dict.fromkeys(("autre", "autres", "autre outil", "autres outils"), "autre"),
}
TOOL_CODES = ("ror", "telesante", "esante_mail", "autre")
TOOL_LABELS = {
    "ror": "ROR (Répertoire opérationnel des ressources)",
    "telesante": "Télésanté (Qimed)",
    "esante_mail": "e-santé Mail",
    "autre": "autres outils",
}
LOWEST, HIGHEST, SATISFIED = 1, 5, 4

COLUMNS = (
    Column(
        "date_reponse",
        "date",
        ("Date de réponse", "Horodateur", "Horodatage", "Date", "Date de saisie"),
        "date de réponse",
        required=True,
        nullable=False,
    ),
    Column(
        "outil",
        "choice",
        ("Outil", "Outil évalué", "Outil régional", "Outil utilisé", "Quel outil évaluez-vous"),
        "outil évalué",
        required=True,
        nullable=False,
        choices=TOOLS,
    ),
    Column(
        "note",
        "integer",
        (
            "Note",
            "Note de satisfaction",
            "Note de satisfaction (1 à 5)",
            "Satisfaction",
            "Satisfaction (1 à 5)",
            "Score",
        ),
        "note de satisfaction",
        required=True,
        nullable=False,
        help="Un entier de 1 (pas du tout satisfait) à 5 (très satisfait).",
    ),
    Column(
        "profession",
        "text",
        ("Profession", "Métier", "Fonction", "Vous êtes", "Catégorie professionnelle"),
        "profession",
    ),
    Column(
        "code_commune",
        "commune",
        (
            "Code commune",
            "Code INSEE",
            "Commune d'exercice (code INSEE)",
            "Code INSEE de la commune d'exercice",
            "Commune (code)",
        ),
        "code commune",
        help="Code INSEE de la commune d'exercice (5 chiffres, pas le code postal) ; facultatif.",
    ),
    # Personal data about respondents: recognised so that it is dropped, never stored.
    Column("repondant_nom", "personal", ("Nom", "Nom du répondant", "Nom et prénom", "Répondant"), "nom du répondant"),
    Column("repondant_prenom", "personal", ("Prénom", "Prénom du répondant"), "prénom du répondant"),
    Column(
        "repondant_email",
        "personal",
        ("E-mail", "Courriel", "Adresse e-mail", "Email", "Adresse électronique", "Adresse mail"),
        "courriel du répondant",
    ),
)


class SatisfactionAnswer(UploadedRow):
    """One respondent's score for one regional tool (no personal data: those columns never get here)."""

    date_reponse: pl.Date = pa.Field(nullable=True)
    outil: str = pa.Field(nullable=True, isin=TOOL_CODES)
    note: int = pa.Field(nullable=True)
    profession: str = pa.Field(nullable=True)
    code_commune: str = pa.Field(nullable=True)

    @pa.check(
        "note",
        name="note_entre_1_et_5",
        error=f"La note de satisfaction doit être un entier de {LOWEST} à {HIGHEST}. → Recopiez la note donnée "
        f"par le répondant ({LOWEST} = pas du tout satisfait, {HIGHEST} = très satisfait) ; une échelle sur 10 "
        "doit être ramenée à 5 avant le dépôt.",
    )
    def score_in_range(cls, data: pa.PolarsData) -> pl.LazyFrame:
        column = pl.col(data.key)
        return data.lazyframe.select(column.is_null() | column.is_between(LOWEST, HIGHEST))


def territory_departement(reference: ReferenceData) -> str | None:
    """The territory's own département (for an answer with no commune), when the territory is one."""
    territory = reference.territory
    return territory.code if territory.level == "departement" else None


def derive_departement(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """The département of each answer: its commune's, else the territory's."""
    communes = reference.table("commune").select(
        pl.col("code_insee").alias("code_commune"), pl.col("departement").alias("commune_departement")
    )
    return (
        rows.frame.join(communes, on="code_commune", how="left", maintain_order="left")
        .with_columns(
            commune_connue=pl.col("commune_departement").is_not_null(),
            departement=pl.coalesce("commune_departement", pl.lit(territory_departement(reference), pl.String)),
        )
        .drop("commune_departement")
    )


@rule(
    "Le code commune, s'il est donné, existe parmi les communes du territoire (COG 2025) ; sans commune, la réponse est rattachée au département du territoire (s'il n'en compte qu'un). Une date de réponse n'est pas à venir."
)
def check_answers(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    frame = rows.frame
    label = reference.territory.label
    problems = rows.problems_for(
        frame.filter(pl.col("code_commune").is_not_null() & ~pl.col("commune_connue")),
        lambda r: rows.problem(
            f"Ce code commune n'existe pas parmi les communes du territoire de l'entrepôt ({label}, COG 2025).",
            "Saisissez le code INSEE de la commune d'exercice (5 chiffres, par exemple 72181 pour Le Mans), pas son "
            "code postal, ou laissez la cellule vide.",
            row=r[ROW],
            column="code_commune",
            value=r["code_commune"],
            check="commune_inconnue",
        ),
    )
    if territory_departement(reference) is None:
        problems += rows.problems_for(
            frame.filter(pl.col("code_commune").is_null()),
            lambda r: rows.problem(
                f"Sans code commune, la réponse ne peut pas être rattachée : le territoire de l'entrepôt ({label}) "
                "compte plusieurs départements.",
                "Renseignez le code INSEE de la commune d'exercice du répondant.",
                row=r[ROW],
                column="code_commune",
                check="commune_manquante",
            ),
        )
    today = dt.date.today()
    problems += rows.problems_for(
        frame.filter(pl.col("date_reponse") > today),
        lambda r: rows.problem(
            f"Cette réponse est datée du {r['date_reponse']:%d/%m/%Y}, un jour à venir (nous sommes le {today:%d/%m/%Y}).",
            "Corrigez la date (jour/mois/année) ; une date au format américain (mois/jour) est une erreur fréquente.",
            row=r[ROW],
            column="date_reponse",
            value=f"{r['date_reponse']:%d/%m/%Y}",
            check="date_future",
        ),
    )
    return problems


def wave_of(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """The wave: a YYYY-MM in the file name, else the month of the latest answer."""
    if named := month_in_name(path):
        return named
    latest = frame["date_reponse"].max() if "date_reponse" in frame.columns and frame.height else None
    return latest.replace(day=1) if latest else None


SOURCE = SourceUnit(
    source_id="tool_satisfaction",
    label="Questionnaire de satisfaction des outils régionaux e-santé",
    objective=8,
    columns=COLUMNS,
    schema=SatisfactionAnswer,
    directory=Path(__file__).parent,
    upload_period=wave_of,
    period_label="vague du questionnaire (mois)",
    sheet_names=("Réponses", "Réponses au formulaire 1", "Questionnaire", "Satisfaction"),
    steward="le GCS e-santé Pays de la Loire (GRADeS), qui diffuse le questionnaire aux utilisateurs des outils",
    owner="team:gcs-esante",
    contract="Un fichier = une vague du questionnaire de satisfaction (export de l'outil d'enquête, csv ou "
    "xlsx) : une ligne par répondant et par outil évalué (ROR, Télésanté / Qimed, e-santé Mail, autres), avec "
    "une note de 1 à 5, la profession et la commune d'exercice. Les noms, prénoms et courriels des répondants "
    "sont reconnus et écartés à la lecture du fichier : ils ne sont jamais conservés. La vague est le mois en "
    "tête du nom du fichier (« 2025-11 questionnaire satisfaction.csv »), à défaut celui de la réponse la plus "
    "récente ; un nouveau fichier pour la même vague la remplace. Les indicateurs sont calculés par "
    "trimestre de la date de réponse.",
    derive=derive_departement,
    rules=(check_answers,),
    subject_column="profession",
    freshness_days=400,
    write_samples=sample.write_samples,
    indicators=(
        Indicator(
            "tool_satisfaction_score",
            "Note moyenne de satisfaction des outils régionaux",
            8,
            "Moyenne des notes (1 à 5) données dans le trimestre : numérateur = somme des notes, dénominateur = "
            "nombre de réponses ; segment = outil (vide = tous les outils).",
            "moyenne",
            segments=TOOL_LABELS,
            period_grain="trimestre",
        ),
        Indicator(
            "tool_satisfied_rate",
            "Utilisateurs satisfaits des outils régionaux",
            8,
            f"Réponses du trimestre avec une note de {SATISFIED} ou {HIGHEST} / réponses du trimestre ; segment = "
            "outil (vide = tous les outils).",
            "taux",
            segments=TOOL_LABELS,
            period_grain="trimestre",
        ),
    ),
)
