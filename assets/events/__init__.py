"""Source `events`: register of e-health promotion and inclusion actions (roadmap objectives 1, 2 and 5).

One file is the whole register (MES activation workshops, awareness mornings, departmental e-health
days, webinars, evenings for elected officials...): one row per event or action. The register grows,
so each accepted upload replaces all the rows of the previous one (load.sql); the history of the
uploads stays in audit.upload. Indicators are counted by département, EPCI and quarter. The
contract, in French, is the generated page docs/sources/events.md.

Where an event took place is a commune (COG code) or an EPCI (SIREN or name, a "choice" whose words
come from the reference); with neither, the event is the territory's own (a départemental webinar).
The roadmap objectives of an event are those written in its row, else the usual ones of its type.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.events import sample
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
    word_key_expr,
)

# --- the steward's words -> codes (kind "choice") ----------------------------------------------------
# The first word of each code (and its second) is what the steward is told to write.

TYPES: dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]] = {
    # code: (French label, words, the roadmap objectives of this type when the row names none)
    "atelier_mes": (
        "atelier d'activation Mon espace santé",
        (
            "atelier d'activation MES",
            "atelier Mon espace santé",
            "atelier d'activation Mon espace santé",
            "atelier MES",
            "atelier activation MES",
            "session d'activation Mon espace santé",
            "atelier",
        ),
        (1, 2),
    ),
    "matinee_sensibilisation": (
        "matinée de sensibilisation",
        ("matinée de sensibilisation", "matinée", "sensibilisation", "matinée d'information"),
        (1,),
    ),
    "journee_departementale": (
        "journée départementale de la e-santé",
        (
            "journée départementale",
            "journée départementale de la e-santé",
            "journée e-santé",
            "journée départementale e-santé",
        ),
        (5,),
    ),
    "webinaire": ("webinaire", ("webinaire", "webinar", "visioconférence"), (5,)),
    "soiree_elus": (
        "soirée élus",
        ("soirée élus", "soirée", "soirée d'information des élus", "rencontre élus", "réunion d'élus"),
        (3,),
    ),
    "formation_professionnels": (
        "formation de professionnels",
        (
            "formation de professionnels",
            "formation",
            "formation des professionnels",
            "formation des professionnels de santé",
        ),
        (2,),
    ),
    "stand": ("stand", ("stand", "stand d'information", "forum", "salon"), (1,)),
    "accompagnement_ehpad_esms": (
        "accompagnement EHPAD / ESMS",
        (
            "accompagnement EHPAD / ESMS",
            "accompagnement EHPAD",
            "accompagnement ESMS",
            "accompagnement établissement médico-social",
            "EHPAD",
        ),
        (1,),
    ),
    "mediation_numerique": (
        "médiation numérique",
        ("médiation numérique", "permanence de médiation numérique", "médiation"),
        (1,),
    ),
}
TYPE_CODES = tuple(TYPES)
TYPE_LABELS = {code: label for code, (label, _, _) in TYPES.items()}
TYPE_WORDS = {word: code for code, (_, words, _) in TYPES.items() for word in words}
DEFAULT_OBJECTIVES = {code: list(objectives) for code, (_, _, objectives) in TYPES.items()}

AUDIENCES = {
    **dict.fromkeys(("citoyens", "grand public", "usagers", "patients", "habitants"), "citoyens"),
    **dict.fromkeys(("professionnels", "professionnels de santé", "professionnels du médico-social"), "professionnels"),
    **dict.fromkeys(("élus", "élus locaux", "élu"), "elus"),
    **dict.fromkeys(("mixte", "tous publics", "tout public"), "mixte"),
}
AUDIENCE_CODES = ("citoyens", "professionnels", "elus", "mixte")

COUNTS = ("participants", "ateliers", "retours_experience", "retours_experience_telesante", "stands")


COLUMNS = (
    Column(
        "date_evenement",
        "date",
        ("Date", "Date de l'événement", "Date de l'action", "Date de l'évènement"),
        "date de l'événement",
        required=True,
        nullable=False,
        help="Jour où l'événement ou l'action a eu lieu.",
    ),
    Column(
        "intitule",
        "text",
        ("Intitulé", "Titre", "Événement", "Évènement", "Action", "Nom de l'événement"),
        "intitulé",
    ),
    Column(
        "type_evenement",
        "choice",
        ("Type", "Type d'événement", "Type d'action", "Type d'évènement", "Nature"),
        "type d'événement",
        required=True,
        nullable=False,
        choices=TYPE_WORDS,
    ),
    Column(
        "objectifs",
        "text",
        ("Objectif(s)", "Objectifs", "Objectif", "Objectifs de la feuille de route", "Objectif feuille de route"),
        "objectif(s) de la feuille de route",
        help="Numéros des objectifs de la feuille de route (1 à 8), par exemple « 1, 2 » ; vide : ceux du type "
        "d'action (atelier MES : 1 et 2 ; matinée, stand, accompagnement EHPAD / ESMS, médiation : 1 ; "
        "formation : 2 ; soirée élus : 3 ; journée départementale, webinaire : 5).",
    ),
    Column(
        "organisateur",
        "text",
        ("Organisateur", "Organisateurs", "Porteur", "Structure organisatrice", "Organisé par"),
        "organisateur",
    ),
    Column("lieu", "text", ("Lieu", "Lieu de l'événement", "Nom de la commune", "Adresse"), "lieu"),
    Column(
        "code_commune",
        "commune",
        ("Code commune", "Code INSEE", "Commune (code)", "Code INSEE commune", "Lieu (code INSEE)"),
        "code commune",
        help="Code INSEE de la commune où l'action a eu lieu (5 chiffres, pas le code postal) ; sinon l'EPCI.",
    ),
    Column(
        "epci",
        "choice",
        ("EPCI", "SIREN EPCI", "EPCI (SIREN)", "Intercommunalité", "Communauté de communes"),
        "EPCI",
        choices=epci_words,
        help="SIREN ou nom de l'EPCI, quand l'action concerne une intercommunalité plutôt qu'une commune ; "
        "vide si la commune est donnée (son EPCI s'en déduit).",
    ),
    Column(
        "public",
        "choice",
        ("Public", "Public visé", "Public cible", "Publics"),
        "public",
        choices=AUDIENCES,
    ),
    Column(
        "participants",
        "integer",
        ("Participants", "Nombre de participants", "Nb participants", "Nb de participants"),
        "nombre de participants",
        help="Nombre entier, 0 ou plus ; vide s'il n'est pas connu (de même pour les ateliers, retours "
        "d'expérience et stands).",
    ),
    Column(
        "ateliers",
        "integer",
        ("Ateliers", "Nombre d'ateliers", "Ateliers proposés", "Nb ateliers"),
        "nombre d'ateliers",
    ),
    Column(
        "retours_experience",
        "integer",
        ("Retours d'expérience", "Nombre de retours d'expérience", "REX", "Nb retours d'expérience"),
        "nombre de retours d'expérience",
    ),
    Column(
        "retours_experience_telesante",
        "integer",
        (
            "dont télésanté",
            "Retours d'expérience télésanté",
            "Retours d'expérience sur la télésanté",
            "REX télésanté",
            "dont retours d'expérience télésanté",
        ),
        "retours d'expérience sur la télésanté",
        help="Parmi les retours d'expérience, ceux qui portent sur la télésanté : au plus le nombre de retours "
        "d'expérience de la ligne.",
    ),
    Column(
        "stands",
        "integer",
        ("Stands partenaires", "Stands", "Nombre de stands", "Nb stands"),
        "nombre de stands partenaires",
    ),
)


class EventRow(UploadedRow):
    """One event or action of the register (words already turned into codes, place derived)."""

    date_evenement: pl.Date = pa.Field(nullable=True)
    intitule: str = pa.Field(nullable=True)
    type_evenement: str = pa.Field(nullable=True, isin=TYPE_CODES)
    objectifs: str = pa.Field(nullable=True)
    organisateur: str = pa.Field(nullable=True)
    lieu: str = pa.Field(nullable=True)
    code_commune: str = pa.Field(nullable=True)
    epci: str = pa.Field(nullable=True)
    public: str = pa.Field(nullable=True, isin=AUDIENCE_CODES)
    participants: int = pa.Field(nullable=True)
    ateliers: int = pa.Field(nullable=True)
    retours_experience: int = pa.Field(nullable=True)
    retours_experience_telesante: int = pa.Field(nullable=True)
    stands: int = pa.Field(nullable=True)

    @pa.check(
        *COUNTS,
        name="effectif_positif",
        error="Un nombre (participants, ateliers, retours d'expérience, stands) ne peut pas être négatif. "
        "→ Saisissez le nombre compté (0 s'il n'y en a aucun, vide s'il n'est pas connu).",
    )
    def count_is_not_negative(cls, data: pa.PolarsData) -> pl.LazyFrame:
        column = pl.col(data.key)
        return data.lazyframe.select(column.is_null() | (column >= 0))

    # On the column, so that the problem names the cell of « dont télésanté ».
    @pa.check(
        "retours_experience_telesante",
        name="telesante_au_plus_retours",
        error="Les retours d'expérience sur la télésanté dépassent le nombre de retours d'expérience de la "
        "ligne (ou celui-ci est vide) : ils en sont une partie. → Renseignez le nombre total de retours "
        "d'expérience de l'événement, au moins égal à ceux qui portent sur la télésanté.",
    )
    def telehealth_within_reports(cls, data: pa.PolarsData) -> pl.LazyFrame:
        part, whole = pl.col("retours_experience_telesante"), pl.col("retours_experience")
        return data.lazyframe.select(part.is_null() | (whole.is_not_null() & (part <= whole)))


# --- derived columns: objectives, EPCI and département of each row ---------------------------------

OBJECTIVE_WORDS = r"\b(objectifs?|obj|et|n|no|num)\b"


def objectives_written(text: pl.Expr) -> pl.Expr:
    """'1, 2', 'Objectifs 1 et 2', '2.0' (an Excel number) -> [1, 2]; anything else -> null."""
    key = word_key_expr(clean_text(text).str.replace_all(r"(\d+)\.0+\b", "$1"))
    digits = key.str.replace_all(OBJECTIVE_WORDS, " ").str.replace_all(r"\s+", " ").str.strip_chars()
    numbers = digits.str.split(" ").list.eval(pl.element().cast(pl.Int64, strict=False)).list.unique().list.sort()
    return pl.when(digits.str.contains(r"^[1-8]( [1-8])*$")).then(numbers)


def epci_departements(reference: ReferenceData) -> pl.DataFrame:
    """epci_siren -> the département where most of its communes of the territory are (ties: smallest code)."""
    return (
        reference.table("commune")
        .filter(pl.col("epci_siren").is_not_null())
        .group_by("epci_siren", "departement")
        .agg(count=pl.len())
        .sort(["epci_siren", "count", "departement"], descending=[False, True, False])
        .group_by("epci_siren", maintain_order=True)
        .agg(epci_departement=pl.col("departement").first())
    )


def territory_departement(reference: ReferenceData) -> str | None:
    """The territory's own département (for a row with no place), when the territory is one."""
    territory = reference.territory
    return territory.code if territory.level == "departement" else None


def derive_places(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """Each row's objectives (written, else its type's), EPCI (given, else its commune's) and département
    (its commune's, else its EPCI's, else the territory's)."""
    communes = reference.table("commune").select(
        pl.col("code_insee").alias("code_commune"),
        pl.col("epci_siren").alias("commune_epci"),
        pl.col("departement").alias("commune_departement"),
        commune_connue=pl.lit(True),
    )
    default = pl.col("type_evenement").replace_strict(DEFAULT_OBJECTIVES, default=None, return_dtype=pl.List(pl.Int64))
    return (
        rows.frame.join(communes, on="code_commune", how="left", maintain_order="left")
        .join(epci_departements(reference), left_on="epci", right_on="epci_siren", how="left", maintain_order="left")
        .with_columns(
            objectifs_ecrits=objectives_written(pl.col("objectifs")),
            epci_deduit=pl.coalesce("epci", "commune_epci"),
            departement=pl.coalesce(
                "commune_departement", "epci_departement", pl.lit(territory_departement(reference), pl.String)
            ),
        )
        .with_columns(
            objectifs_declares=pl.col("objectifs_ecrits").is_not_null(),
            objectifs_retenus=pl.coalesce("objectifs_ecrits", default),
        )
    )


# --- rules -----------------------------------------------------------------------------------------


@rule(
    "Les objectifs de la feuille de route, s'ils sont donnés, sont des numéros de 1 à 8 (« 1, 2 ») ; vides, ce sont ceux du type d'action."
)
def check_objectives(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    unreadable = rows.frame.filter(pl.col("objectifs").is_not_null() & pl.col("objectifs_ecrits").is_null())
    return rows.problems_for(
        unreadable,
        lambda r: rows.problem(
            "Les objectifs de la feuille de route ne sont pas reconnus : des numéros de 1 à 8 sont attendus.",
            "Écrivez les numéros des objectifs, séparés par une virgule (par exemple « 1, 2 »), ou laissez la "
            "cellule vide pour retenir les objectifs habituels du type d'action.",
            row=r[ROW],
            column="objectifs",
            value=r["objectifs"],
            check="objectifs_reconnus",
        ),
    )


@rule(
    "Le code commune existe parmi les communes du territoire (COG 2025) ; si l'EPCI est aussi donné, la commune en fait partie ; une ligne sans commune ni EPCI n'est admise que pour un territoire d'un seul département."
)
def check_places(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    frame = rows.frame
    territory = reference.territory.label
    problems = rows.problems_for(
        frame.filter(pl.col("code_commune").is_not_null() & pl.col("commune_connue").is_null()),
        lambda r: rows.problem(
            f"Ce code commune n'existe pas parmi les communes du territoire de l'entrepôt ({territory}, COG 2025).",
            "Saisissez le code INSEE de la commune (5 chiffres, par exemple 72181 pour Le Mans), pas son code postal.",
            row=r[ROW],
            column="code_commune",
            value=r["code_commune"],
            check="commune_inconnue",
        ),
    )
    names = dict(reference.table("epci").select("epci_siren", "epci_nom").iter_rows())
    problems += rows.problems_for(
        frame.filter(
            pl.col("epci").is_not_null()
            & pl.col("commune_epci").is_not_null()
            & (pl.col("epci") != pl.col("commune_epci"))
        ),
        lambda r: rows.problem(
            f"La commune {r['code_commune']} appartient à l'EPCI « {names.get(r['commune_epci'], r['commune_epci'])} », "
            f"pas à « {names.get(r['epci'], r['epci'])} ».",
            "Corrigez la commune ou l'EPCI de la ligne (ou videz l'EPCI : il se déduit de la commune).",
            row=r[ROW],
            column="epci",
            value=r["epci"],
            check="commune_hors_epci",
        ),
    )
    if territory_departement(reference) is None:
        problems += rows.problems_for(
            frame.filter(pl.col("code_commune").is_null() & pl.col("epci").is_null()),
            lambda r: rows.problem(
                f"Ni commune ni EPCI : le territoire de l'entrepôt ({territory}) compte plusieurs départements, "
                "l'action ne peut pas être rattachée.",
                "Renseignez le code commune ou l'EPCI où l'action a eu lieu.",
                row=r[ROW],
                column="code_commune",
                check="lieu_manquant",
            ),
        )
    return problems


@rule(
    "Un événement daté d'un jour à venir est signalé (avertissement) et n'est compté qu'une fois passé ; deux lignes identiques (même date, type, intitulé et lieu) sont signalées."
)
def check_dates_and_repeats(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    today = dt.date.today()
    problems = rows.problems_for(
        rows.frame.filter(pl.col("date_evenement") > today),
        lambda r: rows.problem(
            f"Cet événement est daté du {r['date_evenement']:%d/%m/%Y}, un jour à venir : il n'est pas compté "
            "parmi les événements tenus tant que cette date n'est pas passée.",
            "Rien à faire pour un événement prévu ; sinon corrigez la date (jour/mois/année).",
            row=r[ROW],
            column="date_evenement",
            value=f"{r['date_evenement']:%d/%m/%Y}",
            severity="avertissement",
            check="evenement_a_venir",
        ),
    )
    key = ["date_evenement", "type_evenement", "intitule", "code_commune", "epci"]
    repeated = rows.frame.filter(pl.struct(key).is_duplicated()).with_columns(same=pl.col(ROW).implode().over(key))
    problems += rows.problems_for(
        repeated,
        lambda r: rows.problem(
            "La même action (date, type, intitulé et lieu) figure aussi ligne(s) "
            + ", ".join(str(x) for x in r["same"] if x != r[ROW])
            + " : chaque ligne est comptée.",
            "Si c'est un doublon, supprimez l'une des lignes ; si ce sont deux sessions, distinguez leurs intitulés.",
            row=r[ROW],
            column="intitule",
            value=r["intitule"],
            severity="avertissement",
            check="action_en_double",
        ),
    )
    return problems


# --- period of an upload ---------------------------------------------------------------------------


def register_period(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """The month of the register's state: a YYYY-MM in the file name, else the month of its latest event
    already held, else the month the file was last modified."""
    if named := month_in_name(path):
        return named
    held = frame.filter(pl.col("date_evenement") <= dt.date.today()) if "date_evenement" in frame.columns else None
    latest = held["date_evenement"].max() if held is not None and held.height else None
    if latest is None:
        latest = dt.date.fromtimestamp(path.stat().st_mtime)
    return latest.replace(day=1)


# --- the unit --------------------------------------------------------------------------------------

SEGMENTS_BY_TYPE = dict(TYPE_LABELS)

SOURCE = SourceUnit(
    source_id="events",
    label="Registre des événements et actions de promotion et d'inclusion numérique en santé",
    objective=1,
    columns=COLUMNS,
    schema=EventRow,
    directory=Path(__file__).parent,
    upload_period=register_period,
    period_label="date du registre (mois)",
    sheet_names=("Registre", "Événements", "Evenements", "Actions"),
    steward="la délégation de la Sarthe de l'ARS Pays de la Loire, qui tient le registre avec la CPAM, "
    "les ambassadeurs Mon espace santé et les coordonnateurs de CLS",
    owner="team:ars-dd72",
    contract="Un fichier = le registre complet des événements et actions (ateliers d'activation Mon espace "
    "santé, matinées de sensibilisation, journée départementale, webinaires, soirées élus, formations, "
    "stands, accompagnements d'EHPAD et d'ESMS, médiation numérique) : une ligne par événement ou action, "
    "avec sa date, son type, son lieu (code commune ou EPCI) et ses effectifs. Le registre s'enrichit au fil "
    "des mois : chaque nouveau fichier accepté remplace entièrement le précédent (envoyez toujours le "
    "registre complet) ; l'historique des dépôts reste dans audit.upload. Les indicateurs sont comptés par "
    "trimestre de la date de l'événement, par département et par EPCI.",
    derive=derive_places,
    rules=(check_objectives, check_places, check_dates_and_repeats),
    subject_column="intitule",
    freshness_days=120,
    write_samples=sample.write_samples,
    indicators=(
        Indicator(
            "events_held",
            "Événements et actions e-santé tenus",
            5,
            "Nombre d'événements et d'actions du registre tenus dans le trimestre (date passée), par "
            "département et par EPCI ; segment = type d'action (vide = tous).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "event_participants",
            "Participants aux événements et actions e-santé",
            5,
            "Somme des participants des événements tenus dans le trimestre ; segment = type d'action (vide = "
            "tous). Non défini (avec une note) quand aucun événement du groupe n'a son nombre de participants.",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "inclusion_actions",
            "Actions d'inclusion numérique en santé",
            1,
            "Nombre d'actions de l'objectif 1 (inclusion numérique) tenues dans le trimestre : celles dont la "
            "ligne cite l'objectif 1, ou, sans objectif écrit, les types de l'objectif 1 (ateliers MES, "
            "matinées de sensibilisation, stands, accompagnements EHPAD / ESMS, médiation numérique) ; "
            "segment = type d'action (vide = toutes).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "inclusion_participants",
            "Participants aux actions d'inclusion numérique en santé",
            1,
            "Somme des participants des actions de l'objectif 1 tenues dans le trimestre ; segment = type "
            "d'action (vide = toutes).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "mes_promotion_events",
            "Événements de promotion de Mon espace santé",
            2,
            "Nombre d'événements de l'objectif 2 (Mon espace santé) tenus dans le trimestre : ceux dont la "
            "ligne cite l'objectif 2, ou, sans objectif écrit, les ateliers d'activation MES et les "
            "formations de professionnels ; segment = type d'action (vide = tous).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "mes_promotion_participants",
            "Participants aux événements de promotion de Mon espace santé",
            2,
            "Somme des participants des événements de l'objectif 2 tenus dans le trimestre ; segment = type "
            "d'action (vide = tous).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "event_workshops",
            "Ateliers proposés lors des événements",
            5,
            "Somme des ateliers proposés lors des événements tenus dans le trimestre (événements dont le "
            "nombre est renseigné) ; segment = type d'action (vide = tous).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
        Indicator(
            "event_experience_reports",
            "Retours d'expérience présentés lors des événements",
            5,
            "Somme des retours d'expérience de professionnels présentés lors des événements tenus dans le "
            "trimestre ; segment = type d'action (vide = tous), segment « telesante » : ceux qui portent sur "
            "la télésanté (tous types).",
            "nombre",
            segments={**SEGMENTS_BY_TYPE, "telesante": "dont télésanté"},
            period_grain="trimestre",
        ),
        Indicator(
            "event_partner_stands",
            "Stands partenaires installés lors des événements",
            5,
            "Somme des stands partenaires installés lors des événements tenus dans le trimestre ; segment = "
            "type d'action (vide = tous).",
            "nombre",
            segments=SEGMENTS_BY_TYPE,
            period_grain="trimestre",
        ),
    ),
)
