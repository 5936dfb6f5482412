"""Source `pharmacy_survey`: MSSanté and fax survey of community pharmacies (roadmap objective 7).

One file per survey wave; one row per pharmacy (FINESS ET). The contract, in French, is the
generated page docs/sources/pharmacy_survey.md.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.pharmacy_survey import sample
from pipelines.contract import (
    ROW,
    Column,
    FinessRow,
    Indicator,
    Problem,
    ReferenceData,
    SourceUnit,
    UploadRows,
    finess_departement,
    rule,
)

PHARMACY_CATEGORY = "620"  # FINESS category "Pharmacie d'officine"
LATEST_AFTER_WAVE = 4  # months: answers may come in for a while after the wave opens, not a year later

COLUMNS = (
    Column(
        "finess",
        "finess",
        ("FINESS", "N° FINESS", "Numéro FINESS", "FINESS ET", "FINESS géographique"),
        "numéro FINESS",
        required=True,
        nullable=False,
        help="Numéro FINESS géographique (ET) de l'officine, 9 caractères.",
    ),
    Column("raison_sociale", "text", ("Raison sociale", "Nom de l'officine", "Pharmacie", "Nom"), "raison sociale"),
    Column(
        "code_commune",
        "commune",
        ("Code commune", "Code INSEE", "Commune (code)"),
        "code commune",
        help="Code INSEE de la commune (5 chiffres), pas le code postal ; facultatif.",
    ),
    Column(
        "mssante",
        "yes_no",
        ("Équipée MSSanté", "MSSanté", "Dispose d'une MSSanté", "Messagerie sécurisée de santé"),
        "équipée MSSanté",
        required=True,
    ),
    Column("operateur_mssante", "text", ("Opérateur MSSanté", "Opérateur", "Fournisseur MSSanté"), "opérateur MSSanté"),
    Column(
        "fax",
        "yes_no",
        ("Possède un fax", "Fax", "Utilise le fax", "Dispose d'un fax"),
        "possède un fax",
        required=True,
    ),
    Column(
        "fax_envois_semaine",
        "integer",
        ("Nombre de fax envoyés par semaine", "Fax envoyés / semaine"),
        "fax envoyés par semaine",
    ),
    Column("date_reponse", "datetime", ("Date de réponse", "Horodateur", "Horodatage", "Date"), "date de réponse"),
    # Personal data about respondents: recognised so that it is dropped, never stored.
    Column("repondant_nom", "personal", ("Nom du répondant", "Répondant"), "nom du répondant"),
    Column(
        "repondant_email",
        "personal",
        ("E-mail", "Courriel", "Adresse e-mail", "Email", "Adresse électronique"),
        "courriel du répondant",
    ),
    Column("repondant_telephone", "personal", ("Téléphone", "Tél", "Numéro de téléphone"), "téléphone du répondant"),
)


class PharmacySurveyRow(FinessRow):
    """One answer of one pharmacy to one survey wave."""

    raison_sociale: str = pa.Field(nullable=True)
    code_commune: str = pa.Field(nullable=True)
    mssante: bool = pa.Field(nullable=True)
    operateur_mssante: str = pa.Field(nullable=True)
    fax: bool = pa.Field(nullable=True)
    fax_envois_semaine: int = pa.Field(nullable=True, ge=0)
    date_reponse: pl.Datetime = pa.Field(nullable=True)
    departement: str


def with_departement(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """The département of each pharmacy, from its FINESS number (stored: the SQL reuses it)."""
    return rows.frame.with_columns(departement=finess_departement(pl.col("finess")))


@rule(
    "Le numéro FINESS est celui d'une pharmacie d'officine (catégorie 620) du territoire ; un numéro bien formé mais absent du répertoire FINESS 2021 est accepté avec un avertissement. Le code commune, s'il est donné, existe dans le COG 2025."
)
def check_against_reference(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """The FINESS is a pharmacy of the territory; the commune exists. Only failing rows are visited."""
    territory = reference.territory
    establishments = reference.table("finess_et").select(
        pl.col("nofinesset").alias("finess"), "categetab", "libcategetab"
    )
    communes = reference.table("commune").select(pl.col("code_insee").alias("code_commune"), known=pl.lit(True))
    joined = rows.frame.join(establishments, on="finess", how="left").join(communes, on="code_commune", how="left")
    geography = reference.geography
    elsewhere = ~reference.scope.includes(pl.col("departement"))
    problems = rows.problems_for(
        joined.filter(elsewhere),
        lambda r: rows.problem(
            f"Ce numéro FINESS est celui d'un établissement d'un autre département "
            f"({geography.departements.get(r['departement'], r['departement'])}), hors du territoire de l'enquête : "
            f"{territory.label}.",
            "Vérifiez le numéro : seules les officines du territoire sont enquêtées.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            check="finess_departement",
        ),
    )
    problems += rows.problems_for(
        joined.filter(~elsewhere & (pl.col("categetab") != PHARMACY_CATEGORY)),
        lambda r: rows.problem(
            f"Ce numéro FINESS n'est pas celui d'une pharmacie d'officine mais d'un établissement de "
            f"catégorie « {r['libcategetab']} » ({r['categetab']}).",
            "Vérifiez le numéro FINESS géographique (ET) de l'officine.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            check="finess_categorie",
        ),
    )
    problems += rows.problems_for(
        joined.filter(~elsewhere & pl.col("categetab").is_null()),
        lambda r: rows.problem(
            "Ce numéro FINESS est bien formé mais absent du répertoire FINESS de référence (extraction 2021) : "
            "la ligne est acceptée (officine ouverte depuis ?).",
            "Rien à faire si l'officine est récente ; sinon vérifiez le numéro.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            severity="avertissement",
            check="finess_inconnu",
        ),
    )
    unknown_commune = pl.col("code_commune").is_not_null() & pl.col("known").is_null()
    problems += rows.problems_for(
        joined.filter(unknown_commune),
        lambda r: rows.problem(
            "Ce code commune n'existe pas parmi les communes du territoire (COG 2025).",
            "Saisissez le code INSEE de la commune (5 chiffres), pas le code postal.",
            row=r[ROW],
            column="code_commune",
            value=r["code_commune"],
            check="commune_inconnue",
        ),
    )
    return problems


WAVE_IN_NAME = re.compile(r"^(\d{4})[-_ ]?(0[1-9]|1[0-2])")


def wave_of(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """A leading YYYY-MM in the file name, else the month of the latest response."""
    found = WAVE_IN_NAME.match(path.name)
    if found:
        return dt.date(int(found.group(1)), int(found.group(2)), 1)
    latest = frame["date_reponse"].max() if "date_reponse" in frame.columns else None
    return dt.date(latest.year, latest.month, 1) if latest else None


@rule(
    "Une date de réponse n'est ni à venir, ni plus de 4 mois après le mois de la vague ; si aucune réponse n'est datée du mois de la vague annoncé par le nom du fichier, un avertissement nomme les deux mois."
)
def check_response_dates(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """A response cannot be dated in the future, nor long after the wave's month; a wave whose name and
    responses disagree on the month is named with both (a file saved under the wrong month?)."""
    dates = rows.frame.select(ROW, "date_reponse").drop_nulls()
    if dates.height == 0:
        return []
    today = dt.date.today()
    wave = wave_of(rows.path, rows.frame)
    problems = rows.problems_for(
        dates.filter(pl.col("date_reponse").dt.date() > today),
        lambda r: rows.problem(
            f"Cette réponse est datée du {r['date_reponse']:%d/%m/%Y}, une date à venir (nous sommes le "
            f"{today:%d/%m/%Y}).",
            "Corrigez la date (jour/mois/année) ; une date au format américain (mois/jour) est une erreur fréquente.",
            row=r[ROW],
            column="date_reponse",
            value=f"{r['date_reponse']:%d/%m/%Y}",
            check="date_future",
        ),
    )
    if wave is None or not WAVE_IN_NAME.match(rows.path.name):
        return problems
    limit = _add_months(wave, LATEST_AFTER_WAVE)
    too_late = dates.filter((pl.col("date_reponse").dt.date() >= limit) & (pl.col("date_reponse").dt.date() <= today))
    problems += rows.problems_for(
        too_late,
        lambda r: rows.problem(
            f"Cette réponse est datée du {r['date_reponse']:%d/%m/%Y}, plus de {LATEST_AFTER_WAVE} mois après le mois "
            f"de la vague ({wave:%m/%Y}, d'après le nom du fichier).",
            "Vérifiez la date de réponse, ou le mois de la vague en tête du nom du fichier.",
            row=r[ROW],
            column="date_reponse",
            value=f"{r['date_reponse']:%d/%m/%Y}",
            check="date_hors_vague",
        ),
    )
    months = dates.select(pl.col("date_reponse").dt.truncate("1mo").dt.date().unique()).to_series()
    if not any(wave <= m < limit for m in months):
        answered = ", ".join(f"{m:%m/%Y}" for m in sorted(months)[:6])
        problems.append(
            Problem(
                f"Le nom du fichier annonce la vague de {wave:%m/%Y}, mais aucune réponse n'est datée de ce mois ni des "
                f"suivants : les réponses datent de {answered}.",
                "Vérifiez le mois en tête du nom du fichier (par exemple « 2024-06 enquete.xlsx ») : c'est lui qui "
                "fixe la vague.",
                file=rows.path.name,
                sheet=rows.sheet,
                column=rows.headers.get("date_reponse"),
                severity="avertissement",
                check="vague_et_reponses",
            )
        )
    return problems


def _add_months(day: dt.date, count: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 + count, 12)
    return dt.date(year, month + 1, 1)


SOURCE = SourceUnit(
    source_id="pharmacy_survey",
    label="Enquête MSSanté et fax auprès des officines",
    objective=7,
    columns=COLUMNS,
    schema=PharmacySurveyRow,
    directory=Path(__file__).parent,
    upload_period=wave_of,
    steward="la délégation de la Sarthe de l'ARS Pays de la Loire, qui mène l'enquête auprès des officines",
    owner="team:ars-dd72",
    contract="Un fichier par vague d'enquête (export de l'outil d'enquête ou tableau Excel), une ligne par "
    "officine, identifiée par son numéro FINESS géographique. La vague est le mois en tête du nom du fichier "
    "(« 2024-06 enquete officines.xlsx »), à défaut le mois de la réponse la plus récente. Un nouveau fichier "
    "pour la même vague remplace le précédent ; les vagues successives mesurent la progression vers le "
    "« zéro fax ».",
    period_label="vague d'enquête (mois)",
    sheet_names=("Réponses", "Enquête", "Officines"),
    derive=with_departement,
    rules=(check_against_reference, check_response_dates),
    freshness_days=200,
    subject_column="raison_sociale",
    write_samples=sample.write_samples,
    indicators=(
        Indicator(
            "pharmacy_mssante_rate",
            "Officines équipées d'une messagerie sécurisée de santé (MSSanté)",
            7,
            "Officines répondantes équipées d'une boîte MSSanté / officines répondantes de la vague.",
            "taux",
        ),
        Indicator(
            "pharmacy_fax_rate",
            "Officines possédant encore un fax",
            7,
            "Officines répondantes possédant un fax / officines répondantes ; segment « mssante » : "
            "parmi les officines équipées MSSanté.",
            "taux",
            segments={"mssante": "parmi les officines équipées MSSanté"},
            target=0.0,
            target_label="Feuille de route : démarche « zéro fax » avant l'arrêt du réseau cuivre (2026)",
            higher_is_better=False,
        ),
        Indicator(
            "survey_response_rate",
            "Taux de couverture de l'enquête officines",
            7,
            "Officines répondantes présentes au répertoire FINESS / officines (catégorie 620) du répertoire.",
            "taux",
        ),
        Indicator(
            "pharmacy_zero_fax_progress",
            "Progression vers le « zéro fax » entre deux vagues",
            7,
            "Parmi les officines ayant répondu aux deux vagues : segment « fax_abandonne » = officines "
            "ayant abandonné le fax / officines qui avaient un fax ; segment « mssante_nouvelle » = "
            "officines nouvellement équipées / officines non équipées à la vague précédente.",
            "taux",
            segments={"fax_abandonne": "ont abandonné le fax", "mssante_nouvelle": "nouvellement équipées MSSanté"},
        ),
    ),
)
