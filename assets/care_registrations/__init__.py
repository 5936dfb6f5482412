"""Source `care_registrations`: CARE cybersecurity programme follow-up (roadmap objective 4).

One file = the state of the programme in a région at a date (all of France for a national
follow-up); one row per eligible establishment: its FINESS ET, and its legal entity's FINESS EJ
when the file gives it (CARE applications can be made per legal entity: a row with only an EJ is
matched to its establishment through the reference, and keyed by the EJ when it has several).
Each accepted file is kept in staging with its state date (history by file); the indicators are
computed on the latest state only, by région and by département. The contract, in French, is the
generated page docs/sources/care_registrations.md.

CARE is a regional programme: its scope is the région of the territory in scope
(`Territory.regional()`): the Sarthe (default) and any département of Pays de la Loire give région
52, `region:XX` that région, `france` every région.

The steward's words for a category, a crisis-exercise status or a département are declared as
"choice" columns: the shared parser turns them into codes, so the typed frame, the pandera model,
the counts and load.sql only ever see codes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.care_registrations import sample
from pipelines.contract import (
    ROW,
    Column,
    FinessRow,
    Indicator,
    NationalFile,
    Problem,
    QualityCheck,
    ReferenceData,
    ReferenceTable,
    Scope,
    SourceUnit,
    UploadRows,
    declared_totals,
    departement_words,
    finess_departement,
    month_in_name,
    rule,
    word_key,
)
from pipelines.ingest.values import finess_key_is_valid

# --- the steward's words -> codes (kind "choice") ----------------------------------------------------
# Words are compared by their key (case, accents, punctuation and spacing do not matter: "PRIVE - non
# lucratif" is "Privé non lucratif"). The first word of each code, and its second, are shown to the
# steward as what to write: keep the usual spelling first.

CATEGORIES: dict[str, str] = {
    **dict.fromkeys(
        (
            "GHT",
            "public",
            "groupement hospitalier de territoire",
            "établissement public",
            "établissement public de santé",
        ),
        "ght",
    ),
    **dict.fromkeys(
        (
            "ESPIC",
            "privé non lucratif",
            "privé à but non lucratif",
            "à but non lucratif",
            "non lucratif",
            "associatif",
            "privé associatif",
            "établissement de santé privé d'intérêt collectif",
        ),
        "non_lucratif",
    ),
    **dict.fromkeys(
        ("privé lucratif", "privé", "privé à but lucratif", "privé commercial", "lucratif", "commercial"), "prive"
    ),
}
CATEGORY_CODES = ("ght", "non_lucratif", "prive")
CATEGORY_LABELS = {"ght": "GHT (public)", "non_lucratif": "privé non lucratif", "prive": "privé lucratif"}

CRISIS_STATUSES: dict[str, str] = {
    **dict.fromkeys(("réalisé", "fait", "réalisée", "faite", "oui", "effectué", "effectuée"), "realise"),
    **dict.fromkeys(("programmé", "planifié", "programmée", "planifiée", "prévu", "prévue"), "programme"),
    **dict.fromkeys(
        ("à réaliser", "à faire", "non réalisé", "non réalisée", "non", "à programmer", "à planifier"), "a_realiser"
    ),
}
STATUS_CODES = ("realise", "programme", "a_realiser")


COLUMNS = (
    Column(
        "finess",
        "finess",
        ("FINESS", "N° FINESS ET", "FINESS ET", "N° FINESS", "FINESS géographique"),
        "numéro FINESS",
        help="FINESS géographique (ET) de l'établissement ; à défaut, celui de son entité juridique.",
    ),
    Column(
        "finess_ej",
        "finess",
        ("FINESS EJ", "N° FINESS EJ", "FINESS juridique", "FINESS entité juridique"),
        "numéro FINESS EJ",
        help="FINESS de l'entité juridique (EJ) gestionnaire ; facultatif.",
    ),
    Column("raison_sociale", "text", ("Raison sociale", "Établissement", "Nom"), "raison sociale"),
    # empty: the establishment's département in the reference, else the FINESS number's
    Column(
        "departement", "choice", ("Département", "Dept", "Code département"), "département", choices=departement_words
    ),
    Column(
        "categorie",
        "choice",
        ("Catégorie", "Type d'établissement", "Statut juridique"),
        "catégorie",
        required=True,
        nullable=False,
        choices=CATEGORIES,
    ),
    Column("candidat", "yes_no", ("Candidat", "Candidature", "A candidaté"), "candidat", required=True, nullable=False),
    Column(
        "inscrit",
        "yes_no",
        ("Inscrit", "Inscription", "Inscrit au programme"),
        "inscrit",
        required=True,
        nullable=False,
    ),
    Column("date_inscription", "date", ("Date d'inscription",), "date d'inscription"),
    Column(
        "exercice_crise_requis",
        "yes_no",
        ("Exercice de crise requis", "Doit réaliser un exercice"),
        "exercice de crise requis",
    ),
    Column(
        "exercice_crise_statut",
        "choice",
        ("Exercice de crise", "Statut exercice de crise", "Exercice crise cyber"),
        "statut de l'exercice de crise",
        choices=CRISIS_STATUSES,
    ),
    Column("date_exercice", "date", ("Date de l'exercice", "Date exercice"), "date de l'exercice"),
)


def required_exercise() -> pl.Expr:
    """Establishment required to hold a crisis exercise: the column if filled, else it has a status."""
    return pl.coalesce(pl.col("exercice_crise_requis"), pl.col("exercice_crise_statut").is_not_null())


class CareRegistrationRow(FinessRow):
    """One eligible establishment in one state of the CARE follow-up (words already turned into codes,
    département, région and key derived)."""

    finess: str = pa.Field(nullable=True, unique=True)  # null only when the row has no FINESS at all (reported)
    finess_ej: str = pa.Field(nullable=True)
    raison_sociale: str = pa.Field(nullable=True)
    departement: str = pa.Field(nullable=True)
    region: str = pa.Field(nullable=True)
    categorie: str = pa.Field(isin=CATEGORY_CODES)
    candidat: bool
    inscrit: bool
    date_inscription: pl.Date = pa.Field(nullable=True)
    exercice_crise_requis: bool = pa.Field(nullable=True)
    exercice_crise_statut: str = pa.Field(nullable=True, isin=STATUS_CODES)
    date_exercice: pl.Date = pa.Field(nullable=True)

    @pa.check(
        "finess_ej",
        name="cle_finess_ej",
        error="La clé de contrôle du numéro FINESS EJ est fausse (le 9e chiffre ne correspond pas aux 8 premiers). "
        "→ Recopiez le numéro FINESS de l'entité juridique depuis l'annuaire FINESS (finess.sante.gouv.fr).",
    )
    def ej_check_key(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | finess_key_is_valid(pl.col(data.key)))


# --- the CARE scope: its own reference table --------------------------------------------------------


def health_establishments_of(france: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """finess_etab_sante_france_stock20210108.csv cut to the CARE scope: the région of the territory
    (CARE is a regional programme), or all of France; overseas départements by their three digits."""
    departement = finess_departement(pl.col("nofinesset"))
    regional = scope.territory.regional(scope.geography)
    return france.with_columns(departement=departement).filter(
        regional.includes(pl.col("departement"), scope.geography.region_of(pl.col("departement")))
    )


CARE_SCOPE = ReferenceTable(
    "finess_sante_pdl",  # name kept for existing queries; the CARE scope follows the territory
    "finess_etab_sante_pdl_stock20210108.csv",
    "Établissements de santé du périmètre du programme CARE (FINESS, 8 janvier 2021) : la région du "
    "territoire (Pays de la Loire par défaut), ou la France entière.",
    national=NationalFile("finess_etab_sante_france_stock20210108.csv", health_establishments_of),
)


def reference_departements(reference: ReferenceData) -> pl.DataFrame:
    """finess -> (département, ET) for every establishment (ET) of the CARE reference and every legal
    entity (EJ): an EJ's département is where it has most establishments (ties: the smallest code), and
    its ET the only one it has (none when it has several)."""
    known = reference.table(CARE_SCOPE.name)
    establishments = known.select(
        pl.col("nofinesset").alias("finess"),
        pl.col("departement").alias("known_departement"),
        pl.col("nofinesset").alias("known_et"),
        pl.col("nofinessej").alias("known_ej"),
    )
    entities = (
        known.group_by("nofinessej", "departement")
        .agg(count=pl.len(), et=pl.col("nofinesset").first())
        .sort(["nofinessej", "count", "departement"], descending=[False, True, False])
        .group_by("nofinessej", maintain_order=True)
        .agg(pl.col("departement").first(), pl.col("count").sum(), pl.col("et").first())
        .select(
            pl.col("nofinessej").alias("finess"),
            pl.col("departement").alias("known_departement"),
            pl.when(pl.col("count") == 1).then(pl.col("et")).alias("known_et"),
            pl.col("nofinessej").alias("known_ej"),
        )
    )
    return pl.concat([establishments.unique("finess"), entities.join(establishments, on="finess", how="anti")])


def derive_scope(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """Each row's key, département and région.

    The key is the FINESS ET; a row with only an EJ takes the EJ's single establishment in the
    reference, else it is keyed by the EJ (an application per legal entity). The département is the
    one declared, else the establishment's (or the entity's) in the reference, else the FINESS
    number's; the région is the département's."""
    known = reference_departements(reference)
    frame = rows.frame.with_columns(given_finess=pl.col("finess"))
    by_ej = frame.filter(pl.col("finess").is_null() & pl.col("finess_ej").is_not_null()).join(
        known.select(pl.col("finess").alias("finess_ej"), "known_et"), on="finess_ej", how="left"
    )
    frame = (
        frame.join(by_ej.select(ROW, "known_et"), on=ROW, how="left")
        .with_columns(finess=pl.coalesce("finess", "known_et", "finess_ej"))
        .drop("known_et")
    )
    frame = (
        frame.join(known.select("finess", "known_departement"), on="finess", how="left", maintain_order="left")
        .with_columns(finess_departement=finess_departement(pl.col("finess")))
        .with_columns(
            departement_declare=pl.col("departement"),
            departement=pl.coalesce("departement", "known_departement", "finess_departement"),
        )
        .with_columns(region=reference.geography.region_of(pl.col("departement")))
    )
    return frame


# --- rules across columns, the reference and the summary sheet -------------------------------------


@rule("Un établissement inscrit au programme est forcément candidat.")
def registered_without_candidacy(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """A registered establishment (inscrit = oui) must be a candidate (candidat = oui)."""
    registered_cell = rows.letters.get("inscrit", "")
    return rows.problems_for(
        rows.frame.filter(pl.col("inscrit") & ~pl.col("candidat")),
        lambda r: rows.problem(
            f"L'établissement est inscrit au programme CARE (cellule {registered_cell}{r[ROW]} = oui) "
            "mais n'est pas candidat : un établissement inscrit est forcément candidat.",
            "Corrigez la colonne candidat (Oui) ou la colonne inscrit (Non) de cette ligne.",
            row=r[ROW],
            column="candidat",
            value="Non",
            check="inscrit_non_candidat",
        ),
    )


@rule(
    "Un statut d'exercice de crise sur une ligne où l'exercice est déclaré non requis est signalé (avertissement) et n'est pas compté."
)
def exercise_not_required(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """A crisis-exercise status on a row where the exercise is declared not required (warning)."""
    odd = rows.frame.filter(pl.col("exercice_crise_requis").not_() & pl.col("exercice_crise_statut").is_not_null())
    return rows.problems_for(
        odd,
        lambda r: rows.problem(
            "Un statut d'exercice de crise est renseigné alors que l'exercice est déclaré non requis : "
            "la ligne est acceptée mais cet exercice n'est pas compté.",
            "Mettez « Exercice de crise requis » à Oui, ou videz le statut.",
            row=r[ROW],
            column="exercice_crise_statut",
            value=r["exercice_crise_statut"],
            severity="avertissement",
            check="exercice_non_requis",
        ),
    )


def care_scope_label(reference: ReferenceData) -> str:
    """French: the CARE scope of the territory, « la région Pays de la Loire (52), celle du territoire… »."""
    territory = reference.territory
    scope = territory.regional(reference.geography)
    if scope.level == "france":
        return "la France entière"
    return scope.label + (
        f", celle du territoire de l'entrepôt, {territory.label}" if territory.level == "departement" else ""
    )


@rule(
    "Chaque ligne porte un numéro FINESS (ET, ou à défaut EJ) ; le département (déclaré, sinon celui du répertoire FINESS) est dans la région du territoire ; un numéro absent du répertoire FINESS 2021 est accepté avec un avertissement."
)
def in_care_scope(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """Keeps the follow-up within the CARE scope, and every row identified.

    A row with no FINESS at all is an error. A declared département, or else a FINESS absent from the
    reference, outside the scope is an error (one per row); a FINESS of the scope absent from the
    reference is a warning."""
    geography = reference.geography
    scope = reference.territory.regional(geography)
    label = care_scope_label(reference)
    if scope.level == "region":
        codes = ", ".join(c for c, r in geography.region_of_departement.items() if r == scope.code)
        action_scope = f"les établissements de {scope.label}, départements {codes}"
    else:
        action_scope = "les établissements des départements français"
    frame = rows.frame
    in_scope = lambda column: scope.includes(pl.col(column), geography.region_of(pl.col(column)))  # noqa: E731
    declared_outside = pl.col("departement_declare").is_not_null() & ~in_scope("departement_declare")
    unknown = pl.col("known_departement").is_null() & pl.col("finess").is_not_null()
    finess_outside = unknown & (
        geography.region_of(pl.col("finess_departement")).is_null() | ~in_scope("finess_departement")
    )
    problems = rows.problems_for(
        frame.filter(pl.col("finess").is_null()),
        lambda r: rows.problem(
            "La ligne ne porte aucun numéro FINESS (ni ET ni EJ) : l'établissement ne peut pas être identifié.",
            "Saisissez le numéro FINESS géographique (ET) de l'établissement, ou à défaut celui de son entité "
            "juridique (EJ).",
            row=r[ROW],
            column="finess",
            check="finess_absent",
        ),
    )
    problems += rows.problems_for(
        frame.filter(declared_outside),
        lambda r: rows.problem(
            f"Le département {r['departement_declare']} ({geography.departements[r['departement_declare']]}) est hors "
            f"du périmètre du suivi CARE : {label}.",
            f"Vérifiez le département de cette ligne : le suivi CARE ne porte que sur {action_scope}.",
            row=r[ROW],
            column="departement",
            value=r["departement_declare"],
            check="departement_hors_region",
        ),
    )
    problems += rows.problems_for(
        frame.filter(finess_outside & ~declared_outside),
        lambda r: rows.problem(
            f"Ce numéro FINESS est celui d'un établissement d'un autre département ({r['finess_departement']}), hors du "
            f"périmètre du suivi CARE : {label}.",
            f"Vérifiez le numéro : le suivi CARE ne porte que sur {action_scope}.",
            row=r[ROW],
            column="finess" if r["given_finess"] else "finess_ej",
            value=r["finess"],
            check="finess_hors_region",
        ),
    )
    problems += rows.problems_for(
        frame.filter(unknown & ~finess_outside),
        lambda r: rows.problem(
            f"Ce numéro FINESS est bien formé mais absent du répertoire des établissements de santé de {label} "
            "(extraction FINESS 2021) : la ligne est acceptée (établissement récent ?).",
            "Rien à faire si l'établissement est récent ; sinon vérifiez le numéro (FINESS ET ou EJ).",
            row=r[ROW],
            column="finess" if r["given_finess"] else "finess_ej",
            value=r["finess"],
            severity="avertissement",
            check="finess_repertoire",
        ),
    )
    return problems


# (pattern on the normalised label, measure, French words after the number); first match wins.
SUMMARY_LABELS = (
    (
        r"exercice.*(devant|doivent|requis|concern|obligat)|(devant|doivent).*exercice",
        "required",
        "établissements devant réaliser un exercice de crise",
    ),
    (r"exercices? (de crise )?(a realiser|a faire|non realise)", "a_realiser", "exercices de crise à réaliser"),
    (r"exercices? (de crise )?realise", "realise", "exercices de crise réalisés"),
    (r"exercices? (de crise )?(programme|planifie|prevu)", "programme", "exercices de crise programmés"),
    (r"eligible", "eligible", "établissements éligibles"),
    (r"candidat", "candidat", "établissements candidats"),
    (r"inscrit", "inscrit", "établissements inscrits"),
)
RECONCILIATION = "reconciliation_synthese"


def detail_counts(frame: pl.DataFrame) -> dict[str, int]:
    """The totals a summary sheet declares, counted on the detail rows (as the indicators count them)."""
    status = pl.col("exercice_crise_statut")
    required = required_exercise()
    counts = frame.select(
        eligible=pl.len(),
        candidat=pl.col("candidat").sum(),
        inscrit=pl.col("inscrit").sum(),
        required=required.sum(),
        **{code: (required & (status == code)).sum() for code in STATUS_CODES},
    )
    return {name: int(value) for name, value in counts.row(0, named=True).items()}


@rule(
    "Les totaux déclarés dans une feuille « Synthèse » ou « Récapitulatif » sont rapprochés du détail : un écart est signalé en nommant les deux nombres, sans bloquer le chargement."
)
def reconcile_summary(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """Each declared total of the summary sheet that the detail rows do not give is a warning."""
    if rows.path.suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    upload = rows
    try:
        totals = declared_totals(upload.path, upload.sheet)
    except Exception as error:
        return [
            Problem(
                f"La feuille de synthèse n'a pas pu être lue ({type(error).__name__}) : les totaux déclarés "
                "ne sont pas contrôlés.",
                "Vérifiez la feuille « Synthèse » du classeur.",
                file=upload.path.name,
                severity="avertissement",
                check=RECONCILIATION,
            )
        ]
    counted = detail_counts(upload.frame)
    problems = []
    for total in totals:
        label, declared = total.label, total.value
        key = word_key(label)
        match = next(((measure, words) for pattern, measure, words in SUMMARY_LABELS if re.search(pattern, key)), None)
        if match is None or counted[match[0]] == declared:
            continue
        measure, words = match
        problems.append(
            Problem(
                f"La synthèse déclare {declared} {words}, le détail en compte {counted[measure]}.",
                "Les lignes du détail sont chargées et les indicateurs sont calculés sur elles : corrigez la "
                "synthèse ou le détail pour qu'ils concordent.",
                file=upload.path.name,
                sheet=total.sheet,
                row=total.row,
                column=label,
                cell=total.cell,
                value=str(declared),
                severity="avertissement",
                check=RECONCILIATION,
            )
        )
    return problems


# --- state date ------------------------------------------------------------------------------------


def state_period(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """First day of the month of the state: a leading or embedded YYYY-MM in the file name, else the
    latest date of the file (registrations and exercises done; scheduled exercises are in the future),
    else the date the file was last modified (the upload date)."""
    if named := month_in_name(path):
        return named
    done = pl.col("exercice_crise_statut") == "realise"
    latest = frame.select(
        pl.max_horizontal(pl.col("date_inscription").max(), pl.col("date_exercice").filter(done).max())
    ).item()
    if latest is None:
        latest = dt.date.fromtimestamp(path.stat().st_mtime)
    return latest.replace(day=1)


SOURCE = SourceUnit(
    source_id="care_registrations",
    label="Suivi du programme CARE (cybersécurité des établissements de santé)",
    objective=4,
    columns=COLUMNS,
    schema=CareRegistrationRow,
    directory=Path(__file__).parent,
    upload_period=state_period,
    period_label="date de l'état (mois)",
    sheet_names=("Suivi établissements", "Suivi", "Établissements", "Suivi CARE", "Détail"),
    steward="le GCS e-santé Pays de la Loire (GRADeS), qui suit le programme CARE pour l'ARS",
    owner="team:gcs-esante",
    contract="Un fichier = l'état du programme CARE dans la région à une date (ou pour la France entière) : "
    "une ligne par établissement éligible, identifié par son FINESS géographique (ET) et, s'il est donné, le "
    "FINESS de son entité juridique (EJ). Une ligne qui ne porte que l'EJ est rattachée à son établissement "
    "par le répertoire FINESS (à l'EJ lui-même quand il en a plusieurs). La date de l'état est le mois du nom "
    "du fichier, à défaut la dernière date du fichier. Chaque fichier est gardé (historique par fichier) ; "
    "les indicateurs portent sur le dernier état. Une feuille « Synthèse » peut déclarer des totaux : ils "
    "sont rapprochés du détail, et un écart est signalé sans bloquer le chargement.",
    derive=derive_scope,
    rules=(registered_without_candidacy, exercise_not_required, in_care_scope, reconcile_summary),
    reference_tables=(CARE_SCOPE,),
    subject_column="raison_sociale",
    write_samples=sample.write_samples,
    quality_checks=(
        QualityCheck(
            RECONCILIATION,
            "Les totaux déclarés dans la feuille de synthèse (« Synthèse », "
            "« Récapitulatif ») correspondent aux lignes du détail ; un écart est un avertissement "
            "qui nomme les deux nombres.",
            "upload",
        ),
        QualityCheck(
            "finess_repertoire",
            "Chaque numéro FINESS figure au répertoire des établissements de santé "
            "du périmètre CARE (la région du territoire, par défaut les Pays de la Loire ; FINESS 2021, "
            "ET ou EJ) ; un numéro absent est un avertissement.",
            "upload",
        ),
    ),
    freshness_days=120,
    indicators=(
        Indicator(
            "care_registration_rate",
            "Établissements inscrits au programme CARE",
            4,
            "Établissements inscrits / établissements éligibles (une ligne du suivi = un établissement "
            "éligible), sur le dernier état déposé ; segment NULL = ensemble, sinon la catégorie "
            "(ght, non_lucratif, prive). Par région (celle du territoire, toutes pour la France) et par "
            "département.",
            "taux",
            segments=CATEGORY_LABELS,
        ),
        Indicator(
            "care_candidates_by_category",
            "Établissements candidats au programme CARE",
            4,
            "Numérateur = établissements candidats, dénominateur = établissements éligibles de la catégorie "
            "(segment ght, non_lucratif, prive ; NULL = ensemble), valeur = part des candidats.",
            "taux",
            segments=CATEGORY_LABELS,
        ),
        Indicator(
            "crisis_exercise_status",
            "Exercices de crise cyber par statut",
            4,
            "Établissements devant réaliser un exercice de crise, par statut (segment realise, programme, "
            "a_realiser) / établissements devant en réaliser un (colonne « Exercice de crise requis », "
            "à défaut ligne avec un statut). L'écart avec le total déclaré dans la synthèse est signalé "
            "par le contrôle reconciliation_synthese.",
            "taux",
            segments={"realise": "réalisé", "programme": "programmé", "a_realiser": "à réaliser"},
        ),
    ),
)
