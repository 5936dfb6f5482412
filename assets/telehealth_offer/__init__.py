"""Source `telehealth_offer`: the telehealth offer and the telemedicine deployment (roadmap objective 6).

One workbook from the regional platform's team (GCS e-santé) = the state of telehealth in the
territory at a date:
- sheet « Structures » (the main one, read by the shared parser): one row per structure of the
  telemedicine deployment, with its FINESS ET (none for a liberal practice), commune, type, role,
  phase, filière, status and date of first act;
- sheet « Offre »: one row per specialty and mode (téléexpertise, téléconsultation) on the regional
  platform, with the date of the state, the expert structure (requis) and the status;
- sheet « Actes » (optional): acts per month and per structure;
- sheet « Synthèse » (optional): declared totals, reconciled with the detail rows (warnings).

Why one unit with several sheets rather than two sources: the press release and the platform's
team give one state at one date (specialties and structures together); the state date lives on the
offer rows and dates the whole workbook; the acts refer to the structures of the same workbook. The
offer and the acts sheets are read by the contract's `read_sheet`, as the parser reads the main one, and
their rows travel with the upload as nested columns (`offre`, `actes`) that load.sql unnests.

Each accepted workbook is one state (history by file, like CARE); the indicators use the latest
state (the latest one with offer rows for the specialties; for acts, each structure's month from the
latest state that gives it). The contract, in French, is the generated page
docs/sources/telehealth_offer.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.telehealth_offer import sample
from pipelines.contract import (
    ROW,
    Column,
    FinessKeyedRow,
    Indicator,
    Problem,
    QualityCheck,
    ReferenceData,
    Sheet,
    SheetRows,
    SourceUnit,
    UploadRows,
    declared_totals,
    finess_departement,
    read_sheet,
    rule,
    word_key,
    word_key_expr,
)

DEPLOYMENT_START = dt.date(2018, 10, 1)  # « Cadrage du projet : octobre 2018 » (press release, calendar)

# --- the steward's words -> codes (kind "choice") ---------------------------------------------------
# Compared by their key (case, accents, punctuation and spacing do not matter). The first word of each
# code, and its second, are shown to the steward as what to write.

TYPES: dict[str, str] = {
    **dict.fromkeys(
        (
            "centre hospitalier",
            "CH",
            "hôpital",
            "centre hospitalier régional",
            "CHR",
            "CHU",
            "hôpital local",
            "centre hospitalier spécialisé",
        ),
        "ch",
    ),
    **dict.fromkeys(
        ("EHPAD", "établissement d'hébergement pour personnes âgées dépendantes", "maison de retraite", "EHPA"),
        "ehpad",
    ),
    **dict.fromkeys(
        (
            "MSP",
            "maison de santé pluriprofessionnelle",
            "maison de santé pluri-professionnelle",
            "maison de santé",
            "pôle de santé",
        ),
        "msp",
    ),
    **dict.fromkeys(
        (
            "centre de santé",
            "centre municipal de santé",
            "CMS",
            "centre communal de santé",
            "centre de santé municipal",
            "centre intercommunal de santé",
        ),
        "centre_sante",
    ),
    **dict.fromkeys(
        ("cabinet libéral", "cabinet médical libéral", "maison de santé libérale", "cabinet médical", "libéral"),
        "cabinet_liberal",
    ),
    **dict.fromkeys(
        (
            "FAM",
            "foyer d'accueil médicalisé",
            "EAM",
            "établissement d'accueil médicalisé",
        ),
        "fam",
    ),
    **dict.fromkeys(("autre", "autre structure", "autre établissement"), "autre"),
}
TYPE_LABELS = {
    "ch": "centre hospitalier",
    "ehpad": "EHPAD",
    "msp": "maison de santé pluriprofessionnelle (MSP)",
    "centre_sante": "centre de santé",
    "cabinet_liberal": "cabinet libéral",
    "fam": "foyer d'accueil médicalisé (FAM)",
    "autre": "autre structure",
}
TYPE_PLURALS = {
    "ch": "centres hospitaliers",
    "ehpad": "EHPAD",
    "msp": "maisons de santé pluriprofessionnelles (MSP)",
    "centre_sante": "centres de santé",
    "cabinet_liberal": "cabinets libéraux",
    "fam": "foyers d'accueil médicalisés (FAM)",
    "autre": "autres structures",
}
# FINESS categories (ref.finess_categorie) expected for each type; a liberal practice has no FINESS;
# "autre" takes any category that may take part.
TYPE_CATEGORIES: dict[str, frozenset[str] | None] = {
    "ch": frozenset({"101", "106", "292", "355"}),
    "ehpad": frozenset({"500", "501", "502"}),
    "msp": frozenset({"603"}),
    "centre_sante": frozenset({"124"}),
    "fam": frozenset({"437", "448"}),
    "cabinet_liberal": frozenset(),
    "autre": None,
}
# Categories that may take part, by their aggregate (ref.finess_categorie.categagretab): health
# establishments (11.., 12..), maisons de santé (2103), centres de santé (2206), medico-social
# establishments and services for children or adults with disabilities (41.., 43..), elderly people
# (44..), addictions and care at home (4604, 4605). Not: pharmacies (3201), laboratories (3101),
# social and child-protection services, schools...
PARTICIPATING_AGGREGATES = ("11", "12", "2103", "2206", "41", "43", "44", "4604", "4605")
NO_FINESS_TYPE = "cabinet_liberal"

ROLES: dict[str, str] = {
    **dict.fromkeys(("structure d'appui", "appui", "structure de référence", "référence"), "appui"),
    **dict.fromkeys(
        ("structure requérante", "requérante", "requérant", "structure demandeuse", "demandeuse", "demandeur"),
        "requerante",
    ),
    **dict.fromkeys(("structure requise", "requise", "requis", "structure experte", "experte", "expert"), "requise"),
}
ROLE_LABELS = {"appui": "structure d'appui", "requerante": "structure requérante", "requise": "structure requise"}

PHASE_NUMBERS = range(1, 10)
PHASES: dict[str, str] = {
    word: str(n) for n in PHASE_NUMBERS for word in (f"phase {n}", str(n), f"vague {n}", f"P{n}", f"phase {n:02d}")
}

STATUSES: dict[str, str] = {
    **dict.fromkeys(("prévue", "prévu", "en projet", "à équiper", "planifiée", "à venir"), "prevue"),
    **dict.fromkeys(("équipée", "équipé", "installée", "installé"), "equipee"),
    **dict.fromkeys(("formée", "formé", "équipée et formée", "équipé et formé"), "formee"),
    **dict.fromkeys(
        (
            "réalise des actes",
            "en activité",
            "réalisent des actes",
            "réalisant des actes",
            "actes réalisés",
            "active",
            "actif",
            "opérationnelle",
        ),
        "realise_actes",
    ),
}
STATUS_LABELS = {"prevue": "prévue", "equipee": "équipée", "formee": "formée", "realise_actes": "réalise des actes"}
STATUS_PLURALS = {
    "prevue": "prévues",
    "equipee": "équipées",
    "formee": "formées",
    "realise_actes": "réalisant des actes",
}

MODES: dict[str, str] = {
    **dict.fromkeys(("téléexpertise", "télé-expertise", "TLE", "expertise"), "teleexpertise"),
    **dict.fromkeys(("téléconsultation", "télé-consultation", "TLC", "consultation"), "teleconsultation"),
}
OFFER_STATUSES: dict[str, str] = {
    **dict.fromkeys(("ouverte", "ouvert", "disponible", "active", "oui"), "ouverte"),
    **dict.fromkeys(("suspendue", "suspendu", "fermée", "fermé", "inactive", "non"), "suspendue"),
}

# --- the columns: the structures (main sheet), the offer, the acts ----------------------------------

COLUMNS = (
    Column(
        "nom",
        "text",
        ("Structure", "Nom de la structure", "Établissement", "Nom", "Raison sociale"),
        "nom de la structure",
        required=True,
        nullable=False,
    ),
    Column(
        "finess",
        "finess",
        ("FINESS ET", "N° FINESS ET", "N° FINESS", "FINESS", "FINESS géographique"),
        "numéro FINESS",
        help="FINESS géographique (ET) de la structure ; vide seulement pour un cabinet libéral, qui n'en a pas.",
    ),
    Column(
        "code_commune",
        "commune",
        ("Code commune", "Code INSEE", "Code INSEE commune", "Code commune INSEE", "COG"),
        "code commune",
        help="Code INSEE (COG) de la commune, 5 chiffres, pas le code postal ; vide : la commune du répertoire "
        "FINESS (obligatoire pour une structure sans FINESS).",
    ),
    Column("commune", "text", ("Commune", "Ville", "Nom de la commune"), "commune", help="Pour la lecture."),
    Column(
        "type_structure",
        "choice",
        ("Type de structure", "Type", "Catégorie de structure"),
        "type de structure",
        required=True,
        nullable=False,
        choices=TYPES,
    ),
    Column(
        "role",
        "choice",
        ("Rôle", "Rôle dans le déploiement", "Rôle de la structure"),
        "rôle",
        required=True,
        nullable=False,
        choices=ROLES,
    ),
    Column(
        "phase",
        "choice",
        ("Phase", "Vague", "Phase de déploiement"),
        "phase",
        required=True,
        nullable=False,
        choices=PHASES,
        help="Numéro de la phase du déploiement (1 à 9).",
    ),
    Column("filiere", "text", ("Filière", "Filières", "Usage", "Usages"), "filière"),
    Column(
        "statut",
        "choice",
        ("Statut", "Avancement", "État d'avancement", "Statut du déploiement"),
        "statut",
        required=True,
        nullable=False,
        choices=STATUSES,
    ),
    Column(
        "date_premier_acte",
        "date",
        ("Date du premier acte", "Premier acte", "Date premier acte", "Date de premier acte"),
        "date du premier acte",
        help="Obligatoire quand la structure « réalise des actes » ; pas avant octobre 2018 (début du déploiement) "
        "ni après la date de l'état.",
    ),
)

OFFER = Sheet(
    names=("Offre", "Offre de télésanté", "Spécialités", "Offre téléexpertise", "Catalogue"),
    subject_column="specialite",
    columns=(
        Column(
            "date_etat",
            "date",
            ("Date de l'état", "État au", "Données au", "Date des données", "Date"),
            "date de l'état",
            required=True,
            nullable=False,
        ),
        Column(
            "specialite",
            "text",
            ("Spécialité", "Spécialité médicale", "Discipline"),
            "spécialité",
            required=True,
            nullable=False,
        ),
        Column(
            "mode",
            "choice",
            ("Mode", "Modalité", "Type d'acte", "Acte"),
            "mode",
            required=True,
            nullable=False,
            choices=MODES,
        ),
        Column(
            "requis",
            "text",
            ("Requis", "Structure requise", "Expert", "Structure experte", "Établissement requis"),
            "requis",
        ),
        Column(
            "statut",
            "choice",
            ("Statut", "État", "Statut de l'offre"),
            "statut de l'offre",
            required=True,
            nullable=False,
            choices=OFFER_STATUSES,
        ),
    ),
)

ACTS = Sheet(
    names=("Actes", "Activité", "Actes par mois", "Activité mensuelle"),
    subject_column="nom",
    columns=(
        Column("mois", "month", ("Mois", "Période", "Mois des actes"), "mois", required=True, nullable=False),
        Column("nom", "text", ("Structure", "Nom de la structure", "Établissement", "Nom"), "structure"),
        Column("finess", "finess", ("FINESS ET", "N° FINESS ET", "N° FINESS", "FINESS"), "numéro FINESS"),
        Column(
            "teleexpertises",
            "integer",
            ("Téléexpertises", "Nombre de téléexpertises", "Actes de téléexpertise", "TLE"),
            "téléexpertises",
        ),
        Column(
            "teleconsultations",
            "integer",
            ("Téléconsultations", "Nombre de téléconsultations", "Actes de téléconsultation", "TLC"),
            "téléconsultations",
        ),
    ),
)


class TelehealthStructureRow(FinessKeyedRow):
    """One structure of the deployment in one state (words already codes; commune, département and
    FINESS category derived)."""

    nom: str
    finess: str = pa.Field(nullable=True)  # none for a private practice
    code_commune: str = pa.Field(nullable=True)
    commune: str = pa.Field(nullable=True)
    departement: str = pa.Field(nullable=True)  # null only without FINESS nor commune (reported)
    type_structure: str = pa.Field(isin=tuple(TYPE_LABELS))
    role: str = pa.Field(isin=tuple(ROLE_LABELS))
    phase: str = pa.Field(isin=tuple(str(n) for n in PHASE_NUMBERS))
    filiere: str = pa.Field(nullable=True)
    statut: str = pa.Field(isin=tuple(STATUS_LABELS))
    date_premier_acte: pl.Date = pa.Field(nullable=True)
    categorie_finess: str = pa.Field(nullable=True)
    date_etat: pl.Date = pa.Field(nullable=True)


# --- the other sheets, read once per file -------------------------------------------------------------

_read: dict[tuple, dict[str, SheetRows]] = {}


def other_sheets(rows: UploadRows, reference: ReferenceData) -> dict[str, SheetRows]:
    """The offer and the acts sheets of this upload (read once: the derivation and the rules share them)."""
    stat = rows.path.stat()
    key = (str(rows.path), stat.st_size, stat.st_mtime_ns, getattr(rows, "sha256", ""), rows.sheet, id(reference))
    if key not in _read:
        _read.clear()  # one upload at a time
        _read[key] = {"offre": _read_or_report(rows, OFFER, reference), "actes": _read_or_report(rows, ACTS, reference)}
    return _read[key]


def _read_or_report(rows: UploadRows, spec: Sheet, reference: ReferenceData) -> SheetRows:
    try:
        return read_sheet(rows.path, spec, reference, rows.sheet)
    except Exception as error:  # a sheet the reader cannot take: the file is rejected, saying which
        unreadable = SheetRows(UploadRows(rows.path, spec.empty_frame(reference), spec.name), found=True)
        unreadable.problems.append(
            Problem(
                f"La feuille « {spec.name} » n'a pas pu être lue ({type(error).__name__}).",
                "Ouvrez le classeur dans Excel, vérifiez cette feuille, enregistrez-le à nouveau puis déposez-le.",
                file=rows.path.name,
                sheet=spec.name,
                check="lecture",
                kind="structure",
            )
        )
        return unreadable


# --- the date of the state ------------------------------------------------------------------------------

NAME_DAY = re.compile(r"(?<!\d)(20\d{2})[-_. ]?(0[1-9]|1[0-2])[-_. ]?(0[1-9]|[12]\d|3[01])(?!\d)")
NAME_DAY_FRENCH = re.compile(r"(?<!\d)(0[1-9]|[12]\d|3[01])[-_. ](0[1-9]|1[0-2])[-_. ](20\d{2})(?!\d)")
NAME_MONTH = re.compile(r"(?<!\d)(20\d{2})[-_. ]?(0[1-9]|1[0-2])(?!\d)")


def date_in_name(path: Path) -> dt.date | None:
    """A date in the file name (2024-10-17, 20241017, 17-10-2024); a month alone (2024-10) is the state
    at the end of that month."""
    name = path.stem
    if found := NAME_DAY.search(name):
        year, month, day = (int(g) for g in found.groups())
    elif found := NAME_DAY_FRENCH.search(name):
        day, month, year = (int(g) for g in found.groups())
    elif found := NAME_MONTH.search(name):
        year, month = int(found.group(1)), int(found.group(2))
        day = calendar.monthrange(year, month)[1]
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:  # 31/02
        return None


def state_date(path: Path, offer: SheetRows) -> dt.date | None:
    """The offer's « Date de l'état » (the latest, if several: reported), else a date in the file name."""
    dates = offer.complete["date_etat"].drop_nulls()
    return dates.max() if dates.len() else date_in_name(path)


def state_period(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """The state's date, derived on every row (derive_state)."""
    if "date_etat" in frame.columns and frame["date_etat"].drop_nulls().len():
        return frame["date_etat"].drop_nulls()[0]
    return date_in_name(path)


# --- derived columns ------------------------------------------------------------------------------------


def structure_key(finess: pl.Expr, name: pl.Expr) -> pl.Expr:
    """How a structure is recognised across sheets and states: its FINESS, else its name's key."""
    return pl.coalesce(finess, pl.lit("nom:") + word_key_expr(name))


def derive_state(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """The structures with their commune (declared, else the FINESS reference's), département and FINESS
    category; the state date; the offer and the acts rows as nested columns `offre` and `actes`."""
    sheets = other_sheets(rows, reference)
    establishments = reference.table("finess_et").select(
        pl.col("nofinesset").alias("finess"),
        pl.col("categetab").alias("categorie_finess"),
        pl.col("libcategetab").alias("libelle_categorie_finess"),
        pl.col("code_insee_derive").alias("commune_finess"),
        pl.lit(True).alias("finess_connu"),
    )
    aggregates = reference.table("finess_categorie").select(
        pl.col("categetab").alias("categorie_finess"), pl.col("categagretab").alias("agregat_finess")
    )
    communes = reference.table("commune").select(
        pl.col("code_insee").alias("code_commune"), pl.col("departement").alias("departement_commune")
    )
    frame = (
        rows.frame.rename({"code_commune": "commune_declaree"})
        .join(establishments, on="finess", how="left", maintain_order="left")
        .join(aggregates, on="categorie_finess", how="left", maintain_order="left")
        .with_columns(
            finess_connu=pl.col("finess_connu").fill_null(False),
            code_commune=pl.coalesce("commune_declaree", "commune_finess"),
        )
        .join(communes, on="code_commune", how="left", maintain_order="left")
        .with_columns(
            departement=pl.coalesce("departement_commune", finess_departement(pl.col("finess"))),
            commune_connue=pl.col("departement_commune").is_not_null(),
            structure_cle=structure_key(pl.col("finess"), pl.col("nom")),
            date_etat=pl.lit(state_date(rows.path, sheets["offre"]), dtype=pl.Date),
        )
    )
    return frame.join(_offer_rows(sheets["offre"], reference), how="cross").join(
        _act_rows(sheets["actes"], frame), how="cross"
    )


def _offer_rows(offer: SheetRows, reference: ReferenceData) -> pl.DataFrame:
    """One row holding the offer as a list: the offer is for the territory of the warehouse."""
    territory = reference.territory
    rows = offer.frame.with_columns(
        specialite_cle=word_key_expr(pl.col("specialite")),
        territoire_niveau=pl.lit(territory.level),
        territoire_code=pl.lit(territory.code or "FR"),
    )
    return rows.select(pl.struct(pl.all()).alias("offre")).select(pl.col("offre").implode())


def _act_rows(acts: SheetRows, structures: pl.DataFrame) -> pl.DataFrame:
    """One row holding the acts as a list, each with its structure's key, commune and département."""
    known = structures.select(
        "structure_cle", "finess", "code_commune", "departement", cle_nom=word_key_expr(pl.col("nom"))
    )
    by_finess = known.filter(pl.col("finess").is_not_null()).unique("finess", keep="first")
    by_name = known.unique("cle_nom", keep="first")
    frame = acts.frame.with_columns(cle_nom=word_key_expr(pl.col("nom")))
    matched = frame.join(
        by_finess.select(
            "finess", *(pl.col(c).alias(f"{c}_f") for c in ("structure_cle", "code_commune", "departement"))
        ),
        on="finess",
        how="left",
        maintain_order="left",
    ).join(
        by_name.select(
            "cle_nom", *(pl.col(c).alias(f"{c}_n") for c in ("structure_cle", "code_commune", "departement"))
        ),
        on="cle_nom",
        how="left",
        maintain_order="left",
    )
    by_finess_given = pl.col("finess").is_not_null()
    rows = matched.select(
        *acts.frame.columns,
        *(
            pl.when(by_finess_given).then(pl.col(f"{c}_f")).otherwise(pl.col(f"{c}_n")).alias(c)
            for c in ("structure_cle", "code_commune", "departement")
        ),
    )
    return rows.select(pl.struct(pl.all()).alias("actes")).select(pl.col("actes").implode())


# --- rules -----------------------------------------------------------------------------------------------


def _participating(aggregate: pl.Expr) -> pl.Expr:
    return pl.any_horizontal(aggregate.str.starts_with(prefix) for prefix in PARTICIPATING_AGGREGATES).fill_null(False)


def _expected_category(type_structure: pl.Expr, category: pl.Expr) -> pl.Expr:
    """The FINESS category is one the declared type expects ("autre": any category that may take part)."""
    expected = pl.lit(False)
    for code, categories in TYPE_CATEGORIES.items():
        matches = pl.lit(True) if categories is None else category.is_in(sorted(categories))
        expected = pl.when(type_structure == code).then(matches).otherwise(expected)
    return expected


@rule(
    "Le numéro FINESS géographique (ET) est obligatoire, sauf pour un cabinet libéral qui n'en a pas ; il est "
    "celui d'un établissement du territoire dont la catégorie FINESS peut prendre part au déploiement "
    "(établissements de santé, maisons et centres de santé, établissements et services médico-sociaux pour "
    "personnes âgées ou handicapées : une pharmacie, un laboratoire ou un service social ne le peuvent pas). "
    "Une catégorie qui ne correspond pas au type déclaré (EHPAD 500, centre hospitalier 355, FAM 437 ou 448, "
    "centre de santé 124, MSP 603…), un numéro bien formé absent du répertoire FINESS 2021, ou une commune "
    "déclarée différente de celle du répertoire sont signalés (avertissement). Le code commune, s'il est "
    "donné, est une commune du territoire (COG 2025) ; une structure sans FINESS doit le donner."
)
def check_structures_against_reference(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """FINESS, category, type, territory and commune of each structure. Only failing rows are visited."""
    finess = pl.col("finess")
    frame = rows.frame.with_columns(departement_finess=finess_departement(finess))
    territory = reference.territory
    geography = reference.geography
    outside = finess.is_not_null() & ~reference.scope.includes(pl.col("departement_finess")).fill_null(False)
    known = pl.col("finess_connu") & ~outside
    participating = _participating(pl.col("agregat_finess"))
    expected = _expected_category(pl.col("type_structure"), pl.col("categorie_finess"))
    problems = rows.problems_for(
        frame.filter(finess.is_null() & (pl.col("type_structure") != NO_FINESS_TYPE)),
        lambda r: rows.problem(
            f"Le numéro FINESS est obligatoire pour une structure de type « {TYPE_LABELS[r['type_structure']]} » : "
            "seul un cabinet libéral n'en a pas.",
            "Saisissez le numéro FINESS géographique (ET) de la structure (annuaire finess.sante.gouv.fr), ou "
            "corrigez son type.",
            row=r[ROW],
            column="finess",
            check="finess_absent",
        ),
    )
    problems += rows.problems_for(
        frame.filter(outside),
        lambda r: rows.problem(
            "Ce numéro FINESS est celui d'un établissement d'un autre département "
            f"({geography.departements.get(r['departement_finess'], r['departement_finess'])}), hors du territoire "
            f"du déploiement : {territory.label}.",
            "Vérifiez le numéro : seules les structures du territoire font partie de ce déploiement.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            check="finess_hors_territoire",
        ),
    )
    problems += rows.problems_for(
        frame.filter(known & ~participating),
        lambda r: rows.problem(
            f"Ce numéro FINESS est celui d'un établissement de catégorie « {r['libelle_categorie_finess']} » "
            f"({r['categorie_finess']}), qui ne peut pas prendre part au déploiement de la télémédecine "
            "(établissements de santé, maisons et centres de santé, établissements médico-sociaux).",
            "Vérifiez le numéro FINESS géographique (ET) de la structure : celui d'une pharmacie, d'un laboratoire "
            "ou d'un service social ne convient pas.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            check="finess_categorie",
        ),
    )
    problems += rows.problems_for(
        frame.filter(known & participating & ~expected),
        lambda r: rows.problem(
            f"Le type déclaré (« {TYPE_LABELS[r['type_structure']]} ») ne correspond pas à la catégorie FINESS de ce "
            f"numéro : « {r['libelle_categorie_finess']} » ({r['categorie_finess']}). La ligne est acceptée et "
            f"comptée comme « {TYPE_LABELS[r['type_structure']]} ».",
            "Vérifiez le type de la structure ou son numéro FINESS géographique (ET).",
            row=r[ROW],
            column="type_structure",
            value=TYPE_LABELS[r["type_structure"]],
            severity="avertissement",
            check="finess_type",
        ),
    )
    problems += rows.problems_for(
        frame.filter(finess.is_not_null() & ~outside & ~pl.col("finess_connu")),
        lambda r: rows.problem(
            "Ce numéro FINESS est bien formé mais absent du répertoire FINESS de référence (extraction de 2021) : "
            "la ligne est acceptée (structure ouverte depuis ?).",
            "Rien à faire si la structure est récente ; sinon vérifiez le numéro.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            severity="avertissement",
            check="finess_repertoire",
        ),
    )
    problems += rows.problems_for(
        frame.filter(pl.col("commune_declaree").is_not_null() & ~pl.col("commune_connue")),
        lambda r: rows.problem(
            f"Ce code commune n'existe pas parmi les communes du territoire ({territory.label}, COG 2025).",
            "Saisissez le code INSEE de la commune (5 chiffres), pas le code postal.",
            row=r[ROW],
            column="code_commune",
            value=r["commune_declaree"],
            check="commune_inconnue",
        ),
    )
    problems += rows.problems_for(
        frame.filter(finess.is_null() & pl.col("commune_declaree").is_null()),
        lambda r: rows.problem(
            "La structure n'a ni numéro FINESS ni code commune : elle ne peut pas être située.",
            "Saisissez le code INSEE de la commune de la structure.",
            row=r[ROW],
            column="code_commune",
            check="commune_absente",
        ),
    )
    differs = (
        pl.col("commune_connue")
        & pl.col("commune_finess").is_not_null()
        & (pl.col("commune_declaree") != pl.col("commune_finess"))
    )
    problems += rows.problems_for(
        frame.filter(differs & known),
        lambda r: rows.problem(
            f"La commune déclarée ({r['commune_declaree']}) n'est pas celle du répertoire FINESS pour ce numéro "
            f"({r['commune_finess']}) : la commune déclarée est retenue.",
            "Vérifiez le code commune ou le numéro FINESS.",
            row=r[ROW],
            column="code_commune",
            value=r["commune_declaree"],
            severity="avertissement",
            check="commune_finess",
        ),
    )
    return problems


def french_date(day: dt.date | None) -> str:
    return "" if day is None else f"{day:%d/%m/%Y}"


@rule(
    "Une structure qui « réalise des actes » donne la date de son premier acte ; cette date n'est ni avant "
    "octobre 2018 (début du déploiement de la télémédecine en Sarthe) ni après la date de l'état. Une date de "
    "premier acte sur une structure qui ne réalise pas d'actes est signalée (avertissement)."
)
def check_first_acts(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    frame = rows.frame
    first = pl.col("date_premier_acte")
    active = pl.col("statut") == "realise_actes"
    problems = rows.problems_for(
        frame.filter(active & first.is_null()),
        lambda r: rows.problem(
            "La structure « réalise des actes » mais la date de son premier acte n'est pas renseignée.",
            "Saisissez la date du premier acte de télémédecine (par exemple 15/03/2019), ou corrigez le statut.",
            row=r[ROW],
            column="date_premier_acte",
            check="premier_acte_sans_date",
        ),
    )
    problems += rows.problems_for(
        frame.filter(first < DEPLOYMENT_START),
        lambda r: rows.problem(
            f"Le premier acte est daté du {french_date(r['date_premier_acte'])}, avant le début du déploiement de la "
            f"télémédecine (octobre 2018).",
            "Vérifiez la date (jour/mois/année) : une date au format américain (mois/jour) est une erreur fréquente.",
            row=r[ROW],
            column="date_premier_acte",
            value=french_date(r["date_premier_acte"]),
            check="premier_acte_avant_deploiement",
        ),
    )
    problems += rows.problems_for(
        frame.filter(first > pl.col("date_etat")),
        lambda r: rows.problem(
            f"Le premier acte est daté du {french_date(r['date_premier_acte'])}, après la date de l'état "
            f"({french_date(r['date_etat'])}).",
            "Vérifiez la date du premier acte, ou la date de l'état (feuille « Offre »).",
            row=r[ROW],
            column="date_premier_acte",
            value=french_date(r["date_premier_acte"]),
            check="premier_acte_apres_etat",
        ),
    )
    problems += rows.problems_for(
        frame.filter(~active & first.is_not_null()),
        lambda r: rows.problem(
            f"Une date de premier acte est donnée alors que le statut est « {STATUS_LABELS[r['statut']]} » : la "
            "structure n'est pas comptée parmi celles qui réalisent des actes.",
            "Mettez le statut « réalise des actes », ou videz la date.",
            row=r[ROW],
            column="date_premier_acte",
            value=french_date(r["date_premier_acte"]),
            severity="avertissement",
            check="premier_acte_sans_actes",
        ),
    )
    return problems


def _others(rows: list[int], row: int) -> str:
    others = [str(r) for r in sorted(rows) if r != row]
    return ", ".join(others[:10]) + (f" et {len(others) - 10} autre(s)" if len(others) > 10 else "")


@rule(
    "Une structure n'apparaît qu'une fois : un même numéro FINESS, ou un même nom dans la même commune, sur "
    "plusieurs lignes est une erreur."
)
def check_duplicate_structures(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    frame = rows.frame.with_columns(cle_nom=word_key_expr(pl.col("nom")))
    same_finess = frame.filter(pl.col("finess").is_not_null()).with_columns(lignes=pl.col(ROW).implode().over("finess"))
    problems = rows.problems_for(
        same_finess.filter(pl.col("lignes").list.len() > 1),
        lambda r: rows.problem(
            f"Le même numéro FINESS figure aussi ligne(s) {_others(r['lignes'], r[ROW])}.",
            "Gardez une seule ligne par structure.",
            row=r[ROW],
            column="finess",
            value=r["finess"],
            check="structure_en_double",
        ),
    )
    same_name = frame.filter(pl.col("finess").is_null()).with_columns(
        lignes=pl.col(ROW).implode().over("cle_nom", "code_commune")
    )
    problems += rows.problems_for(
        same_name.filter(pl.col("lignes").list.len() > 1),
        lambda r: rows.problem(
            f"La même structure (même nom, même commune, sans FINESS) figure aussi ligne(s) "
            f"{_others(r['lignes'], r[ROW])}.",
            "Gardez une seule ligne par structure.",
            row=r[ROW],
            column="nom",
            value=r["nom"],
            check="structure_en_double",
        ),
    )
    return problems


@rule(
    "Feuille « Offre » : une ligne par spécialité, mode (téléexpertise ou téléconsultation) et structure requise, "
    "toutes à la même date de l'état, qui n'est pas à venir. Sans cette feuille, le fichier est accepté mais le "
    "nombre de spécialités n'est pas mis à jour (avertissement)."
)
def check_offer(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    offer = other_sheets(rows, reference)["offre"]
    if not offer.found:
        return [
            Problem(
                f"Le classeur n'a pas de feuille « {OFFER.name} » (l'offre de téléexpertise et de téléconsultation) : "
                "les structures sont chargées, le nombre de spécialités reste celui du dernier état qui en donnait.",
                f"Ajoutez la feuille « {OFFER.name} » (date de l'état, spécialité, mode, requis, statut) au prochain "
                "dépôt.",
                file=rows.path.name,
                severity="avertissement",
                check="feuille_offre",
                kind="structure",
            )
        ]
    sheet = offer.rows
    problems = list(offer.problems)
    frame = offer.complete.with_columns(
        cle=pl.concat_str(
            word_key_expr(pl.col("specialite")),
            pl.col("mode"),
            word_key_expr(pl.col("requis")).fill_null(""),
            separator="|",
        )
    )
    doubles = frame.with_columns(lignes=pl.col(ROW).implode().over("cle")).filter(pl.col("lignes").list.len() > 1)
    problems += sheet.problems_for(
        doubles,
        lambda r: sheet.problem(
            f"La même spécialité, avec le même mode et la même structure requise, figure aussi ligne(s) "
            f"{_others(r['lignes'], r[ROW])}.",
            "Gardez une seule ligne par spécialité, mode et structure requise.",
            row=r[ROW],
            column="specialite",
            value=r["specialite"],
            check="offre_en_double",
        ),
    )
    dates = sorted(frame["date_etat"].drop_nulls().unique())
    if len(dates) > 1:
        problems += sheet.problems_for(
            frame.filter(pl.col("date_etat") != dates[-1]),
            lambda r: sheet.problem(
                f"La feuille porte plusieurs dates d'état ({', '.join(french_date(d) for d in dates[:5])}) : un "
                "fichier est l'état de l'offre à une seule date.",
                f"Mettez la même date sur toutes les lignes (la plus récente est {french_date(dates[-1])}), ou "
                "déposez un fichier par date.",
                row=r[ROW],
                column="date_etat",
                value=french_date(r["date_etat"]),
                check="dates_etat_multiples",
            ),
        )
    today = dt.date.today()
    problems += sheet.problems_for(
        frame.filter(pl.col("date_etat") > today),
        lambda r: sheet.problem(
            f"La date de l'état ({french_date(r['date_etat'])}) est à venir (nous sommes le {french_date(today)}).",
            "Corrigez la date (jour/mois/année).",
            row=r[ROW],
            column="date_etat",
            value=french_date(r["date_etat"]),
            check="date_etat_future",
        ),
    )
    return problems


@rule(
    "Feuille « Actes » (facultative) : une ligne par structure et par mois, la structure désignée par son "
    "numéro FINESS ou son nom tels que dans la feuille des structures, au moins un nombre d'actes "
    "(téléexpertises, téléconsultations), un mois ni avant octobre 2018 ni après la date de l'état."
)
def check_acts(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    acts = other_sheets(rows, reference)["actes"]
    if not acts.found:
        return []
    sheet = acts.rows
    problems = list(acts.problems)
    complete = acts.complete
    if complete.height == 0:
        return problems
    state = state_date(rows.path, other_sheets(rows, reference)["offre"])
    resolved = _act_rows(acts, rows.frame).explode("actes").unnest("actes")
    frame = complete.join(resolved.select(ROW, "structure_cle"), on=ROW, how="left")
    problems += sheet.problems_for(
        frame.filter(pl.col("nom").is_null() & pl.col("finess").is_null()),
        lambda r: sheet.problem(
            "La ligne ne désigne aucune structure (ni nom ni numéro FINESS).",
            "Saisissez le nom de la structure tel que dans la feuille des structures, ou son numéro FINESS.",
            row=r[ROW],
            column="nom",
            check="acte_sans_structure",
        ),
    )
    problems += sheet.problems_for(
        frame.filter(
            (pl.col("nom").is_not_null() | pl.col("finess").is_not_null()) & pl.col("structure_cle").is_null()
        ),
        lambda r: sheet.problem(
            "Cette structure ne figure pas dans la feuille des structures du déploiement.",
            "Désignez la structure par son numéro FINESS ou par son nom tels qu'écrits dans la feuille des structures.",
            row=r[ROW],
            column="finess" if r["finess"] else "nom",
            value=r["finess"] or r["nom"],
            check="acte_structure_inconnue",
        ),
    )
    problems += sheet.problems_for(
        frame.filter(pl.col("teleexpertises").is_null() & pl.col("teleconsultations").is_null()),
        lambda r: sheet.problem(
            "La ligne ne donne aucun nombre d'actes.",
            "Saisissez le nombre de téléexpertises et/ou de téléconsultations du mois (0 s'il n'y en a pas eu).",
            row=r[ROW],
            column="teleexpertises",
            check="acte_sans_nombre",
        ),
    )
    negative = (pl.col("teleexpertises") < 0) | (pl.col("teleconsultations") < 0)
    problems += sheet.problems_for(
        frame.filter(negative.fill_null(False)),
        lambda r: sheet.problem(
            "Un nombre d'actes ne peut pas être négatif.",
            "Corrigez le nombre d'actes du mois.",
            row=r[ROW],
            column="teleexpertises" if (r["teleexpertises"] or 0) < 0 else "teleconsultations",
            value=r["teleexpertises"] if (r["teleexpertises"] or 0) < 0 else r["teleconsultations"],
            check="acte_negatif",
        ),
    )
    last_month = state.replace(day=1) if state else None
    outside = pl.col("mois") < DEPLOYMENT_START
    if last_month:
        outside = outside | (pl.col("mois") > last_month)
    problems += sheet.problems_for(
        frame.filter(outside),
        lambda r: sheet.problem(
            f"Le mois {r['mois']:%m/%Y} est hors de la période du déploiement (octobre 2018"
            + (f" au {french_date(state)}, date de l'état)." if state else ")."),
            "Vérifiez le mois des actes.",
            row=r[ROW],
            column="mois",
            value=f"{r['mois']:%m/%Y}",
            check="acte_mois_hors_periode",
        ),
    )
    doubles = (
        frame.filter(pl.col("structure_cle").is_not_null())
        .with_columns(lignes=pl.col(ROW).implode().over("structure_cle", "mois"))
        .filter(pl.col("lignes").list.len() > 1)
    )
    problems += sheet.problems_for(
        doubles,
        lambda r: sheet.problem(
            f"Les actes de cette structure pour ce mois figurent aussi ligne(s) {_others(r['lignes'], r[ROW])}.",
            "Gardez une seule ligne par structure et par mois.",
            row=r[ROW],
            column="mois",
            value=f"{r['mois']:%m/%Y}",
            check="acte_en_double",
        ),
    )
    return problems


# --- declared totals ---------------------------------------------------------------------------------------

RECONCILIATION = "reconciliation_synthese"
# (pattern on the label's key, measure, French words after the number); the first match wins.
SUMMARY_LABELS = (
    (r"specialite", "specialites", "spécialités ouvertes en téléexpertise"),
    (
        r"(requerant|demandeu).*phase (\d)|phase (\d).*(requerant|demandeu)",
        "requerantes_phase",
        "structures requérantes",
    ),
    (r"requerant|demandeu", "requerantes", "structures requérantes"),
    (r"(realis|effectu)\w* (des )?actes|en activite", "actives", "structures réalisant des actes"),
    (r"phase (\d)", "phase", "structures"),
    (r"structure|etablissement", "structures", "structures du déploiement"),
)


def detail_counts(frame: pl.DataFrame, offer: pl.DataFrame) -> dict[str, int]:
    """What the summary may declare, counted on the detail rows as the indicators count them."""
    open_expertise = offer.filter((pl.col("mode") == "teleexpertise") & (pl.col("statut") == "ouverte"))
    requesting = frame.filter(pl.col("role") == "requerante")
    counts = {
        "structures": frame.height,
        "requerantes": requesting.height,
        "actives": frame.filter(pl.col("statut") == "realise_actes").height,
        "specialites": open_expertise.select(word_key_expr(pl.col("specialite")).n_unique()).item(),
    }
    for phase in frame["phase"].unique().to_list() + [str(n) for n in PHASE_NUMBERS]:
        counts[f"phase_{phase}"] = frame.filter(pl.col("phase") == phase).height
        counts[f"requerantes_phase_{phase}"] = requesting.filter(pl.col("phase") == phase).height
    return counts


@rule(
    "Les totaux déclarés dans une feuille « Synthèse » (« Structures du déploiement : 27 », structures par phase, "
    "structures requérantes, spécialités ouvertes en téléexpertise…) sont rapprochés du détail : un écart est "
    "signalé en nommant les deux nombres, sans bloquer le chargement."
)
def reconcile_summary(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    try:
        totals = declared_totals(rows.path, rows.sheet)
    except Exception as error:
        return [
            Problem(
                f"La feuille de synthèse n'a pas pu être lue ({type(error).__name__}) : les totaux déclarés ne sont pas "
                "contrôlés.",
                "Vérifiez la feuille « Synthèse » du classeur.",
                file=rows.path.name,
                severity="avertissement",
                check=RECONCILIATION,
            )
        ]
    offer = other_sheets(rows, reference)["offre"].complete
    counted = detail_counts(rows.frame, offer)
    problems = []
    for declared in totals:
        key = word_key(declared.label)
        found = next(((re.search(p, key), m, w) for p, m, w in SUMMARY_LABELS if re.search(p, key)), None)
        if found is None:
            continue
        match, measure, words = found
        if measure in ("phase", "requerantes_phase"):
            number = next(g for g in match.groups() if g and g.isdigit())
            measure, words = f"{measure}_{number}", f"{words} en phase {number}"
        if measure not in counted or counted[measure] == declared.value:
            continue
        problems.append(
            Problem(
                f"La synthèse déclare {declared.value} {words}, le détail en compte {counted[measure]}.",
                "Les lignes du détail sont chargées et les indicateurs sont calculés sur elles : corrigez la synthèse "
                "ou le détail pour qu'ils concordent.",
                file=rows.path.name,
                sheet=declared.sheet,
                row=declared.row,
                column=declared.label,
                cell=declared.cell,
                value=str(declared.value),
                severity="avertissement",
                check=RECONCILIATION,
            )
        )
    return problems


# --- the unit ----------------------------------------------------------------------------------------------

PHASE_SEGMENTS = {f"phase_{n}": f"phase {n}" for n in PHASE_NUMBERS}

SOURCE = SourceUnit(
    source_id="telehealth_offer",
    label="Offre de télésanté et déploiement de la télémédecine",
    objective=6,
    columns=COLUMNS,
    schema=TelehealthStructureRow,
    directory=Path(__file__).parent,
    upload_period=state_period,
    period_label="date de l'état",
    sheet_names=("Structures", "Structures du déploiement", "Déploiement", "Établissements"),
    steward="l'équipe de la plateforme régionale de télémédecine (GCS e-santé Pays de la Loire, Qimed)",
    owner="team:gcs-esante",
    contract="Un fichier = l'état de la télésanté dans le territoire à une date : un classeur dont la feuille "
    "« Structures » (décrite ci-dessous) a une ligne par structure du déploiement de la télémédecine "
    "(structure d'appui, requérante ou requise), identifiée par son FINESS géographique (aucun pour un cabinet "
    "libéral). La feuille « Offre » a une ligne par spécialité ouverte ou suspendue sur la plateforme régionale, "
    "avec les colonnes « Date de l'état » (la même sur chaque ligne : elle date tout le fichier), « Spécialité », "
    "« Mode » (téléexpertise ou téléconsultation), « Requis » (la structure experte, facultatif) et « Statut » "
    "(ouverte ou suspendue). La feuille « Actes », facultative, a une ligne par structure et par mois : « Mois », "
    "« Structure » et/ou « FINESS ET », « Téléexpertises », « Téléconsultations ». Une feuille « Synthèse » peut "
    "déclarer des totaux (« Structures du déploiement : 27 ») : ils sont rapprochés du détail et un écart est "
    "signalé sans bloquer le chargement. Sans feuille « Offre », la date de l'état est celle du nom du fichier "
    "(« 2024-10-17 telesante.xlsx » ; un mois seul, « 2024-10 », désigne la fin de ce mois). Chaque fichier est "
    "gardé (historique par état) ; les indicateurs portent sur le dernier état.",
    derive=derive_state,
    rules=(
        check_structures_against_reference,
        check_first_acts,
        check_duplicate_structures,
        check_offer,
        check_acts,
        reconcile_summary,
    ),
    quality_checks=(
        QualityCheck(
            RECONCILIATION,
            "Les totaux déclarés dans la feuille « Synthèse » correspondent aux lignes du détail ; un écart est un "
            "avertissement qui nomme les deux nombres.",
        ),
        QualityCheck(
            "finess_repertoire",
            "Chaque numéro FINESS figure au répertoire FINESS de référence (2021) ; un numéro absent est un "
            "avertissement.",
        ),
        QualityCheck(
            "offre_a_jour",
            "Le nombre de spécialités publié vient du dernier état déposé ; sinon l'écart de dates est signalé.",
            stage="indicators",
        ),
    ),
    subject_column="nom",
    write_samples=sample.write_samples,
    freshness_days=200,
    indicators=(
        Indicator(
            "teleexpertise_specialties",
            "Spécialités disponibles en téléexpertise sur la plateforme régionale",
            6,
            "Nombre de spécialités (distinctes) ouvertes en téléexpertise pour le territoire à la date de l'état "
            "(feuille « Offre » du dernier état qui en donne une) ; pas de dénominateur.",
            "nombre",
            period_grain="date",
        ),
        Indicator(
            "telemedicine_structures",
            "Structures du déploiement de la télémédecine",
            6,
            "Nombre de structures du déploiement (structure d'appui, requérantes, requises) au dernier état ; "
            "segment NULL = toutes, phase_N = celles de la phase N, type_<type> = par type (type_ehpad…), "
            "role_<rôle> et statut_<statut> ; par département et par EPCI (commune déclarée, sinon celle du "
            "répertoire FINESS). L'écart avec le total déclaré dans la synthèse est signalé par le contrôle "
            "reconciliation_synthese.",
            "nombre",
            period_grain="date",
            segments={
                **PHASE_SEGMENTS,
                **{f"type_{code}": label for code, label in TYPE_PLURALS.items()},
                "role_appui": "structure d'appui",
                "role_requerante": "structures requérantes",
                "role_requise": "structures requises",
                **{f"statut_{code}": label for code, label in STATUS_PLURALS.items()},
            },
        ),
        Indicator(
            "telemedicine_structures_active",
            "Structures requérantes réalisant des actes de télémédecine",
            6,
            "Structures requérantes au statut « réalise des actes » / structures requérantes, au dernier état ; "
            "segment phase_N = celles de la phase N, NULL = toutes phases (la structure d'appui et les structures "
            "requises ne sont pas comptées).",
            "taux",
            period_grain="date",
            segments={code: f"structures requérantes de la {label}" for code, label in PHASE_SEGMENTS.items()},
        ),
        Indicator(
            "telemedicine_acts",
            "Actes de télémédecine réalisés",
            6,
            "Nombre d'actes du mois (feuille « Actes ») : segment NULL = téléexpertises et téléconsultations, "
            "teleexpertise, teleconsultation ; pour chaque structure et chaque mois, le dernier état qui les donne.",
            "nombre",
            segments={"teleexpertise": "téléexpertises", "teleconsultation": "téléconsultations"},
        ),
    ),
)
