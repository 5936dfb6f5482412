"""Source `cls_register`: the local health contracts (Contrats Locaux de Santé) of the territory, and
whether digital health is one of their axes (roadmap objective 3).

One file is the register at a date (the month in its name): one row per CLS, identified by its own
identifier, over an EPCI (SIREN or name, a "choice" whose words come from the reference) or a list
of communes (COG codes). Each month's state is kept (a new file for the same month replaces it), so
the rate of CLS with a digital-health axis is a series. The roadmap's target is 100 % of the signed
CLS. The contract, in French, is the generated page docs/sources/cls_register.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.cls_register import sample
from pipelines.contract import (
    ROW,
    Column,
    Indicator,
    Problem,
    ReferenceData,
    SourceUnit,
    UploadedRow,
    UploadRows,
    clean_text,
    epci_words,
    month_in_name,
    rule,
)

STATUSES: dict[str, str] = {
    **dict.fromkeys(("signé", "en vigueur", "signée", "actif", "en cours"), "signe"),
    **dict.fromkeys(
        ("en préparation", "en cours d'élaboration", "en élaboration", "en projet", "en négociation", "à signer"),
        "en_preparation",
    ),
    **dict.fromkeys(("échu", "terminé", "expiré", "échue", "clos", "achevé"), "echu"),
}
STATUS_CODES = ("signe", "en_preparation", "echu")


COLUMNS = (
    Column(
        "identifiant",
        "text",
        ("Identifiant", "Identifiant CLS", "N° CLS", "Code CLS", "Référence"),
        "identifiant du CLS",
        required=True,
        nullable=False,
        help="Identifiant propre à chaque contrat (par exemple CLS-72-01), le même d'un registre à l'autre.",
    ),
    Column("nom", "text", ("Nom", "Nom du CLS", "Intitulé", "Contrat local de santé", "Libellé"), "nom du CLS"),
    Column(
        "epci",
        "choice",
        ("EPCI", "SIREN EPCI", "EPCI (SIREN)", "Intercommunalité", "EPCI porteur"),
        "EPCI",
        choices=epci_words,
        help="SIREN ou nom de l'EPCI couvert par le contrat ; sinon la liste des communes couvertes.",
    ),
    Column(
        "communes",
        "text",
        ("Communes couvertes", "Communes", "Codes communes", "Communes (codes INSEE)", "Codes INSEE des communes"),
        "communes couvertes",
        help="Codes INSEE des communes couvertes, séparés par des virgules (« 72181, 72003 ») ; vide si l'EPCI "
        "est donné et que le contrat le couvre entièrement.",
    ),
    Column(
        "date_signature",
        "date",
        ("Date de signature", "Signé le", "Signature", "Date signature"),
        "date de signature",
    ),
    Column(
        "date_fin",
        "date",
        ("Date de fin", "Échéance", "Date d'échéance", "Fin", "Fin du contrat"),
        "date de fin",
        help="Échéance du contrat, postérieure à sa date de signature.",
    ),
    Column(
        "statut",
        "choice",
        ("Statut", "État", "Statut du CLS"),
        "statut",
        required=True,
        nullable=False,
        choices=STATUSES,
    ),
    Column(
        "axe_numerique",
        "yes_no",
        (
            "Axe numérique en santé",
            "Axe e-santé",
            "Numérique en santé",
            "Axe numérique",
            "Le numérique en santé est un axe",
        ),
        "axe numérique en santé",
        required=True,
        nullable=False,
        help="Oui si le contrat comporte un axe (ou une fiche action) consacré au numérique en santé.",
    ),
    Column(
        "actions_esante",
        "integer",
        ("Nombre d'actions e-santé", "Actions e-santé", "Nb actions e-santé", "Fiches actions e-santé"),
        "nombre d'actions e-santé",
    ),
)


class ClsRow(UploadedRow):
    """One local health contract of the register (status as a code, communes parsed)."""

    identifiant: str = pa.Field(nullable=True, unique=True)
    nom: str = pa.Field(nullable=True)
    epci: str = pa.Field(nullable=True)
    communes: str = pa.Field(nullable=True)
    date_signature: pl.Date = pa.Field(nullable=True)
    date_fin: pl.Date = pa.Field(nullable=True)
    statut: str = pa.Field(nullable=True, isin=STATUS_CODES)
    axe_numerique: bool = pa.Field(nullable=True)
    actions_esante: int = pa.Field(nullable=True)

    # On the column, so that the problem names the cell of the end date.
    @pa.check(
        "date_fin",
        name="fin_apres_signature",
        error="La date de fin du contrat précède sa date de signature. → Vérifiez les deux dates de la ligne "
        "(jour/mois/année ; une inversion des colonnes ?) et corrigez le registre.",
    )
    def ends_after_signature(cls, data: pa.PolarsData) -> pl.LazyFrame:
        end, signed = pl.col("date_fin"), pl.col("date_signature")
        return data.lazyframe.select(end.is_null() | signed.is_null() | (end >= signed))

    @pa.check(
        "actions_esante",
        name="effectif_positif",
        error="Le nombre d'actions e-santé ne peut pas être négatif. → Saisissez le nombre de fiches actions "
        "du contrat consacrées au numérique en santé (0 s'il n'y en a aucune).",
    )
    def count_is_not_negative(cls, data: pa.PolarsData) -> pl.LazyFrame:
        column = pl.col(data.key)
        return data.lazyframe.select(column.is_null() | (column >= 0))


# --- derived columns -------------------------------------------------------------------------------


def commune_codes(text: pl.Expr) -> pl.Expr:
    """'72181, 72003 ; 72095' -> ['72181', '72003', '72095'] (a code Excel turned into 7218.0 or lost its
    leading zero is restored); an empty cell -> []."""
    parts = (  # separators: commas, semicolons, slashes, pipes, spaces, line breaks
        clean_text(text)
        .fill_null("")
        .str.replace_all(r"(\d+)\.0+\b", "$1")
        .str.to_uppercase()
        .str.replace_all(r"[\s,;|/]+", " ")
        .str.strip_chars()
        .str.split(" ")
    )
    return parts.list.eval(
        pl.when(pl.element().str.contains(r"^\d{4}$")).then("0" + pl.element()).otherwise(pl.element())
    ).list.filter(pl.element() != "")


def derive_communes(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """The communes of each CLS as a list of codes, and those the territory's COG does not know."""
    known = reference.table("commune")["code_insee"].implode()
    return rows.frame.with_columns(communes_codes=commune_codes(pl.col("communes"))).with_columns(
        communes_inconnues=pl.col("communes_codes").list.filter(~pl.element().is_in(known))
    )


# --- rules -----------------------------------------------------------------------------------------


@rule(
    "Chaque CLS désigne son territoire : l'EPCI (SIREN ou nom, parmi ceux du COG 2025) ou la liste des codes INSEE des communes couvertes, qui existent toutes parmi les communes du territoire."
)
def check_territory(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    frame = rows.frame
    label = reference.territory.label
    problems = rows.problems_for(
        frame.filter(pl.col("epci").is_null() & (pl.col("communes_codes").list.len() == 0)),
        lambda r: rows.problem(
            "Le contrat ne désigne pas son territoire : ni EPCI ni communes couvertes.",
            "Renseignez l'EPCI (SIREN ou nom) ou les codes INSEE des communes couvertes, séparés par des virgules.",
            row=r[ROW],
            column="epci",
            check="territoire_manquant",
        ),
    )
    problems += rows.problems_for(
        frame.filter(pl.col("communes_inconnues").list.len() > 0),
        lambda r: rows.problem(
            f"Code(s) commune inconnu(s) parmi les communes du territoire de l'entrepôt ({label}, COG 2025) : "
            + ", ".join(f"« {code} »" for code in r["communes_inconnues"][:10])
            + ".",
            "Saisissez les codes INSEE des communes (5 chiffres, par exemple 72181 pour Le Mans), pas leurs codes "
            "postaux, séparés par des virgules.",
            row=r[ROW],
            column="communes",
            value=r["communes"],
            check="commune_inconnue",
        ),
    )
    return problems


@rule(
    "Un CLS signé porte sa date de signature ; un CLS signé dont la date de fin est passée à la date du registre, ou un CLS échu qui court encore, est signalé (avertissement) ; un CLS sans axe numérique ne déclare pas d'actions e-santé (avertissement)."
)
def check_status(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    frame = rows.frame
    period = register_period(rows.path, frame)
    signed = pl.col("statut") == "signe"
    problems = rows.problems_for(
        frame.filter(signed & pl.col("date_signature").is_null()),
        lambda r: rows.problem(
            "Le contrat est dit signé mais sa date de signature est vide.",
            "Renseignez la date de signature (jour/mois/année), ou corrigez le statut (« en préparation »).",
            row=r[ROW],
            column="date_signature",
            check="signature_sans_date",
        ),
    )
    if period is not None:
        problems += rows.problems_for(
            frame.filter(signed & (pl.col("date_fin") < period)),
            lambda r: rows.problem(
                f"Le contrat est dit signé mais il a pris fin le {r['date_fin']:%d/%m/%Y}, avant le registre de "
                f"{period:%m/%Y} : il n'est pas compté parmi les CLS en vigueur.",
                "Passez son statut à « échu », ou corrigez la date de fin s'il a été prolongé.",
                row=r[ROW],
                column="statut",
                value="signé",
                severity="avertissement",
                check="cls_echu",
            ),
        )
        problems += rows.problems_for(
            frame.filter((pl.col("statut") == "echu") & (pl.col("date_fin") >= period)),
            lambda r: rows.problem(
                f"Le contrat est dit échu mais sa date de fin ({r['date_fin']:%d/%m/%Y}) n'est pas passée au "
                f"registre de {period:%m/%Y} : il n'est pas compté parmi les CLS en vigueur.",
                "Vérifiez le statut (« signé » s'il court encore) ou la date de fin.",
                row=r[ROW],
                column="statut",
                value="échu",
                severity="avertissement",
                check="cls_echu_en_cours",
            ),
        )
    problems += rows.problems_for(
        frame.filter(~pl.col("axe_numerique") & (pl.col("actions_esante") > 0)),
        lambda r: rows.problem(
            f"Le contrat déclare {r['actions_esante']} action(s) e-santé mais pas d'axe numérique en santé : il "
            "est compté sans axe numérique.",
            "Mettez « Axe numérique en santé » à Oui si ces actions forment un axe du contrat, sinon vérifiez le "
            "nombre d'actions.",
            row=r[ROW],
            column="axe_numerique",
            value="Non",
            severity="avertissement",
            check="actions_sans_axe",
        ),
    )
    return problems


# --- period of an upload ---------------------------------------------------------------------------


def register_period(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """The month of the register's state: a YYYY-MM in the file name, else the month the file was last
    modified (the register as it stood when it was sent)."""
    if named := month_in_name(path):
        return named
    return dt.date.fromtimestamp(path.stat().st_mtime).replace(day=1)


# --- the unit --------------------------------------------------------------------------------------

SOURCE = SourceUnit(
    source_id="cls_register",
    label="Registre des contrats locaux de santé (CLS)",
    objective=3,
    columns=COLUMNS,
    schema=ClsRow,
    directory=Path(__file__).parent,
    upload_period=register_period,
    period_label="date du registre (mois)",
    sheet_names=("CLS", "Registre CLS", "Contrats locaux de santé", "Registre"),
    steward="la délégation de la Sarthe de l'ARS Pays de la Loire (chargée de développement territorial en santé)",
    owner="team:ars-dd72",
    contract="Un fichier = le registre des contrats locaux de santé du territoire à une date : une ligne par "
    "contrat, avec son identifiant, son territoire (l'EPCI, ou les codes INSEE des communes couvertes), ses "
    "dates de signature et de fin, son statut (signé, en préparation, échu) et s'il comporte un axe "
    "numérique en santé. La date du registre est le mois en tête du nom du fichier (« 2025-06 registre "
    "CLS.xlsx »), à défaut le mois du dépôt. Chaque mois déposé est gardé (un nouveau fichier pour le même "
    "mois le remplace) : le taux de CLS intégrant le numérique en santé se suit dans le temps. Un CLS est "
    "« en vigueur » au mois du registre s'il est signé, signé au plus tard à la fin de ce mois et pas "
    "terminé avant son début.",
    derive=derive_communes,
    rules=(check_territory, check_status),
    subject_column="nom",
    freshness_days=400,
    write_samples=sample.write_samples,
    indicators=(
        Indicator(
            "cls_with_digital_health_rate",
            "Contrats locaux de santé signés intégrant le numérique en santé",
            3,
            "CLS signés en vigueur au mois du registre dont le numérique en santé est un axe / CLS signés en "
            "vigueur, par département et par EPCI (un CLS compte dans chaque EPCI et département qu'il couvre : "
            "son EPCI, ou ceux de ses communes). Non défini (avec une note) là où aucun CLS signé n'est en "
            "vigueur.",
            "taux",
            target=1.0,
            target_label="Feuille de route : intégrer systématiquement les enjeux du numérique en santé dans "
            "tous les contrats locaux de santé signés (100 %)",
        ),
    ),
)
