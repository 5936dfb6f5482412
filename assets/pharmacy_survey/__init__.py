"""Source `pharmacy_survey`: MSSanté and fax survey of community pharmacies (roadmap objective 7).

One file per survey wave; one row per pharmacy (FINESS ET). See shared/sources.md.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandera.polars as pa
import polars as pl

from pipelines.schemas import FinessRow
from pipelines.problems import Problem
from pipelines.reference import ReferenceData
from pipelines.source import Column, Indicator, SourceUnit
from pipelines.validation import ROW, ParsedUpload

PHARMACY_CATEGORY = "620"  # FINESS category "Pharmacie d'officine"

COLUMNS = (
    Column("finess", "finess", ("FINESS", "N° FINESS", "Numéro FINESS", "FINESS ET", "FINESS géographique"),
           "numéro FINESS", required=True, nullable=False),
    Column("raison_sociale", "text", ("Raison sociale", "Nom de l'officine", "Pharmacie", "Nom"), "raison sociale"),
    Column("code_commune", "commune", ("Code commune", "Code INSEE", "Commune (code)"), "code commune"),
    Column("mssante", "yes_no", ("Équipée MSSanté", "MSSanté", "Dispose d'une MSSanté", "Messagerie sécurisée de santé"),
           "équipée MSSanté", required=True),
    Column("operateur_mssante", "text", ("Opérateur MSSanté", "Opérateur", "Fournisseur MSSanté"), "opérateur MSSanté"),
    Column("fax", "yes_no", ("Possède un fax", "Fax", "Utilise le fax", "Dispose d'un fax"), "possède un fax", required=True),
    Column("fax_envois_semaine", "integer", ("Nombre de fax envoyés par semaine", "Fax envoyés / semaine"),
           "fax envoyés par semaine"),
    Column("date_reponse", "datetime", ("Date de réponse", "Horodateur", "Horodatage", "Date"), "date de réponse"),
    # Personal data about respondents: recognised so that it is dropped, never stored.
    Column("repondant_nom", "personal", ("Nom du répondant", "Répondant"), "nom du répondant"),
    Column("repondant_email", "personal", ("E-mail", "Courriel", "Adresse e-mail", "Email", "Adresse électronique"),
           "courriel du répondant"),
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


def check_against_reference(upload: ParsedUpload, reference: ReferenceData) -> list[Problem]:
    """The FINESS is a pharmacy of the département; the commune exists. Only failing rows are visited."""
    territory = reference.territory
    establishments = reference.table("finess_et").select(
        pl.col("nofinesset").alias("finess"), "categetab", "libcategetab"
    )
    communes = reference.table("commune").select(pl.col("code_insee").alias("code_commune"), known=pl.lit(True))
    joined = upload.frame.join(establishments, on="finess", how="left").join(communes, on="code_commune", how="left")
    # the département of a FINESS is its first two characters (three overseas: 971 ... 976)
    finess_departement = pl.col("finess").str.slice(0, pl.when(pl.col("finess").str.starts_with("97")).then(3).otherwise(2))
    elsewhere = territory.includes(finess_departement).not_()
    problems: list[Problem] = []
    for row in joined.filter(elsewhere).head(500).iter_rows(named=True):
        problems.append(upload.problem(
            f"Ce numéro FINESS est celui d'un établissement d'un autre département ({row['finess'][:2]}), "
            f"hors du territoire de l'enquête ({territory.label}).",
            "Vérifiez le numéro : seules les officines du département sont enquêtées.",
            row=row[ROW], column="finess", value=row["finess"], check="finess_departement"))
    for row in joined.filter(~elsewhere & (pl.col("categetab") != PHARMACY_CATEGORY)).head(500).iter_rows(named=True):
        problems.append(upload.problem(
            f"Ce numéro FINESS n'est pas celui d'une pharmacie d'officine mais d'un établissement de "
            f"catégorie « {row['libcategetab']} » ({row['categetab']}).",
            "Vérifiez le numéro FINESS géographique (ET) de l'officine.",
            row=row[ROW], column="finess", value=row["finess"], check="finess_categorie"))
    for row in joined.filter(~elsewhere & pl.col("categetab").is_null()).head(500).iter_rows(named=True):
        problems.append(upload.problem(
            "Ce numéro FINESS est bien formé mais absent du répertoire FINESS de référence (extraction 2021) : "
            "la ligne est acceptée (officine ouverte depuis ?).",
            "Rien à faire si l'officine est récente ; sinon vérifiez le numéro.",
            row=row[ROW], column="finess", value=row["finess"], severity="avertissement", check="finess_inconnu"))
    unknown_commune = pl.col("code_commune").is_not_null() & pl.col("known").is_null()
    for row in joined.filter(unknown_commune).head(500).iter_rows(named=True):
        problems.append(upload.problem(
            "Ce code commune n'existe pas parmi les communes du département (COG 2025).",
            "Saisissez le code INSEE de la commune (5 chiffres), pas le code postal.",
            row=row[ROW], column="code_commune", value=row["code_commune"], check="commune_inconnue"))
    return sorted(problems, key=lambda p: (p.row or 0, p.column or ""))


def wave_of(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """A leading YYYY-MM in the file name, else the month of the latest response."""
    found = re.match(r"^(\d{4})[-_ ]?(0[1-9]|1[0-2])", path.name)
    if found:
        return dt.date(int(found.group(1)), int(found.group(2)), 1)
    latest = frame["date_reponse"].max()
    return dt.date(latest.year, latest.month, 1) if latest else None


SOURCE = SourceUnit(
    source_id="pharmacy_survey",
    label="Enquête MSSanté et fax auprès des officines",
    objective=7,
    columns=COLUMNS,
    schema=PharmacySurveyRow,
    directory=Path(__file__).parent,
    upload_period=wave_of,
    period_label="vague d'enquête (mois)",
    sheet_names=("Réponses", "Enquête", "Officines"),
    check_rows=check_against_reference,
    freshness_days=200,
    indicators=(
        Indicator("pharmacy_mssante_rate", "Officines équipées d'une messagerie sécurisée de santé (MSSanté)", 7,
                  "Officines répondantes équipées d'une boîte MSSanté / officines répondantes de la vague.", "taux"),
        Indicator("pharmacy_fax_rate", "Officines possédant encore un fax", 7,
                  "Officines répondantes possédant un fax / officines répondantes ; segment « mssante » : "
                  "parmi les officines équipées MSSanté.", "taux"),
        Indicator("survey_response_rate", "Taux de couverture de l'enquête officines", 7,
                  "Officines répondantes présentes au répertoire FINESS / officines (catégorie 620) du répertoire.",
                  "taux"),
        Indicator("pharmacy_zero_fax_progress", "Progression vers le « zéro fax » entre deux vagues", 7,
                  "Parmi les officines ayant répondu aux deux vagues : segment « fax_abandonne » = officines "
                  "ayant abandonné le fax / officines qui avaient un fax ; segment « mssante_nouvelle » = "
                  "officines nouvellement équipées / officines non équipées à la vague précédente.", "taux"),
    ),
)
