"""Source `care_registrations`: CARE cybersecurity programme follow-up (roadmap objective 4).

One file = the state of the programme in a région at a date (all of France for a national
follow-up); one row per eligible establishment (FINESS ET, or EJ since CARE applications can be
made per legal entity). Each accepted file is kept in staging with its state date (history by
file); the indicators are computed on the latest state only, by région and by département.
See shared/sources.md.

CARE is a regional programme: its scope is the région of the territory in scope
(pipelines/territory.py, `Territory.regional()`): the Sarthe (default) and any département of Pays
de la Loire give région 52, `region:XX` that région, `france` every région.

The steward's words for a category, a crisis-exercise status or a département are declared as
"choice" columns (CATEGORIES, CRISIS_STATUSES, DEPARTEMENTS): the shared parser turns them into
codes, so the typed frame, the pandera model, the counts and load.sql only ever see codes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandera.polars as pa
import polars as pl

from pipelines.ingest.headers import normalize_header
from pipelines.ingest.readers import read_xlsx, workbook_sheet_names
from pipelines.schemas import FinessRow
from pipelines.problems import Problem, errors
from pipelines.reference import ReferenceData
from pipelines.source import Column, Indicator, QualityCheck, SourceUnit
from pipelines.territory import DEPARTEMENTS as FRENCH_DEPARTEMENTS
from pipelines.territory import REGIONS, Territory, finess_departement, region_of
from pipelines.validation import ROW, ParsedUpload

MAX_REPORTED = 500  # problems reported per rule, like the shared validation

# --- the steward's words -> codes (kind "choice") ----------------------------------------------------
# Words are compared by their key (case, accents, punctuation and spacing do not matter: "PRIVE - non
# lucratif" is "Privé non lucratif"). The first word of each code, and its second, are shown to the
# steward as what to write: keep the usual spelling first.

CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("GHT", "public", "groupement hospitalier de territoire", "établissement public",
                     "établissement public de santé"), "ght"),
    **dict.fromkeys(("ESPIC", "privé non lucratif", "privé à but non lucratif", "à but non lucratif",
                     "non lucratif", "associatif", "privé associatif",
                     "établissement de santé privé d'intérêt collectif"), "non_lucratif"),
    **dict.fromkeys(("privé lucratif", "privé", "privé à but lucratif", "privé commercial", "lucratif",
                     "commercial"), "prive"),
}
CATEGORY_CODES = ("ght", "non_lucratif", "prive")

CRISIS_STATUSES: dict[str, str] = {
    **dict.fromkeys(("réalisé", "fait", "réalisée", "faite", "oui", "effectué", "effectuée"), "realise"),
    **dict.fromkeys(("programmé", "planifié", "programmée", "planifiée", "prévu", "prévue"), "programme"),
    **dict.fromkeys(("à réaliser", "à faire", "non réalisé", "non réalisée", "non", "à programmer",
                     "à planifier"), "a_realiser"),
}
STATUS_CODES = ("realise", "programme", "a_realiser")

# Every French département (the scope check then keeps the région of the territory): "44", "44.0" (an
# Excel number), "Loire-Atlantique", "44 - Loire-Atlantique", "Loire-Atlantique (44)", "1" for 01 (the
# leading zero Excel drops).
DEPARTEMENT_CODES = tuple(FRENCH_DEPARTEMENTS)
DEPARTEMENTS: dict[str, str] = {
    word: code for code, (name, _) in FRENCH_DEPARTEMENTS.items()
    for word in (code, name, f"{code} {name}", f"{name} {code}", *([code[1]] if code.startswith("0") else []))
}

COLUMNS = (
    Column("finess", "finess", ("FINESS", "N° FINESS ET", "FINESS EJ", "FINESS juridique"),
           "numéro FINESS", required=True, nullable=False),
    Column("raison_sociale", "text", ("Raison sociale", "Établissement", "Nom"), "raison sociale"),
    # empty: load.sql takes the first two characters of the FINESS
    Column("departement", "choice", ("Département", "Dept", "Code département"), "département",
           choices=DEPARTEMENTS),
    Column("categorie", "choice", ("Catégorie", "Type d'établissement", "Statut juridique"), "catégorie",
           required=True, nullable=False, choices=CATEGORIES),
    Column("candidat", "yes_no", ("Candidat", "Candidature", "A candidaté"), "candidat", required=True,
           nullable=False),
    Column("inscrit", "yes_no", ("Inscrit", "Inscription", "Inscrit au programme"), "inscrit", required=True,
           nullable=False),
    Column("date_inscription", "date", ("Date d'inscription",), "date d'inscription"),
    Column("exercice_crise_requis", "yes_no", ("Exercice de crise requis", "Doit réaliser un exercice"),
           "exercice de crise requis"),
    Column("exercice_crise_statut", "choice",
           ("Exercice de crise", "Statut exercice de crise", "Exercice crise cyber"),
           "statut de l'exercice de crise", choices=CRISIS_STATUSES),
    Column("date_exercice", "date", ("Date de l'exercice", "Date exercice"), "date de l'exercice"),
)


def required_exercise() -> pl.Expr:
    """Establishment required to hold a crisis exercise: the column if filled, else it has a status."""
    return pl.coalesce(pl.col("exercice_crise_requis"), pl.col("exercice_crise_statut").is_not_null())


class CareRegistrationRow(FinessRow):
    """One eligible establishment in one state of the CARE follow-up (words already turned into codes)."""

    raison_sociale: str = pa.Field(nullable=True)
    departement: str = pa.Field(nullable=True, isin=DEPARTEMENT_CODES)
    categorie: str = pa.Field(isin=CATEGORY_CODES)
    candidat: bool
    inscrit: bool
    date_inscription: pl.Date = pa.Field(nullable=True)
    exercice_crise_requis: bool = pa.Field(nullable=True)
    exercice_crise_statut: str = pa.Field(nullable=True, isin=STATUS_CODES)
    date_exercice: pl.Date = pa.Field(nullable=True)


# --- rules across columns, the reference and the summary sheet -------------------------------------


def check_rows(upload: ParsedUpload, reference: ReferenceData) -> list[Problem]:
    problems = registered_without_candidacy(upload)
    problems += exercise_not_required(upload)
    problems += in_care_scope(upload, reference)
    if not errors(problems) and upload.path.suffix.lower() == ".xlsx":
        problems += reconcile_summary(upload)
    return problems


def registered_without_candidacy(upload: ParsedUpload) -> list[Problem]:
    """A registered establishment (inscrit = oui) must be a candidate (candidat = oui)."""
    wrong = upload.frame.filter(pl.col("inscrit") & ~pl.col("candidat")).head(MAX_REPORTED)
    registered_cell = upload.letters.get("inscrit", "")
    return [
        upload.problem(
            f"L'établissement est inscrit au programme CARE (cellule {registered_cell}{row} = oui) "
            "mais n'est pas candidat : un établissement inscrit est forcément candidat.",
            "Corrigez la colonne candidat (Oui) ou la colonne inscrit (Non) de cette ligne.",
            row=row, column="candidat", value="Non", check="inscrit_non_candidat",
        )
        for row in wrong[ROW]
    ]


def exercise_not_required(upload: ParsedUpload) -> list[Problem]:
    """A crisis-exercise status on a row where the exercise is declared not required (warning)."""
    odd = upload.frame.filter(
        pl.col("exercice_crise_requis").not_() & pl.col("exercice_crise_statut").is_not_null()
    ).head(MAX_REPORTED)
    return [
        upload.problem(
            "Un statut d'exercice de crise est renseigné alors que l'exercice est déclaré non requis : "
            "la ligne est acceptée mais cet exercice n'est pas compté.",
            "Mettez « Exercice de crise requis » à Oui, ou videz le statut.",
            row=row, column="exercice_crise_statut", value=status, severity="avertissement",
            check="exercice_non_requis",
        )
        for row, status in odd.select(ROW, "exercice_crise_statut").iter_rows()
    ]


def care_scope_label(territory: Territory) -> str:
    """French: the CARE scope of a territory, « la région Pays de la Loire (52), celle du département 72 »."""
    scope = territory.regional()
    if scope.level == "france":
        return "la France entière"
    label = f"la région {REGIONS.get(scope.code, scope.code)} ({scope.code})"
    return label + (f", celle du territoire de l'entrepôt ({territory.label})" if territory.level == "departement" else "")


def reference_departements(reference: ReferenceData) -> pl.DataFrame:
    """finess -> département, for every establishment (ET) of the CARE reference and every legal entity
    (EJ): the département where it has most establishments (ties: the smallest code)."""
    known = reference.table("finess_sante_pdl")
    establishments = known.select(pl.col("nofinesset").alias("finess"), pl.col("departement").alias("known_departement"))
    entities = (
        known.group_by("nofinessej", "departement").agg(count=pl.len())
        .sort(["nofinessej", "count", "departement"], descending=[False, True, False])
        .unique("nofinessej", keep="first")
        .select(pl.col("nofinessej").alias("finess"), pl.col("departement").alias("known_departement"))
    )
    return pl.concat([establishments.unique("finess"), entities.join(establishments, on="finess", how="anti")])


def in_care_scope(upload: ParsedUpload, reference: ReferenceData) -> list[Problem]:
    """Gives each row its département and région, and keeps the follow-up within the CARE scope.

    The département is the one declared, else the one of the establishment in the FINESS reference
    (an EJ: where most of its establishments are), else the first characters of the FINESS number.
    A declared département, or else a FINESS absent from the reference, outside the scope is an error
    (one per row); a FINESS of the scope absent from the reference a warning. Leaves `upload.frame`
    with the département filled and a `region` column (what load.sql stores)."""
    territory = reference.territory
    scope = territory.regional()
    label = care_scope_label(territory)
    if scope.level == "region":
        codes = ", ".join(c for c, (_, r) in FRENCH_DEPARTEMENTS.items() if r == scope.code)
        action_scope = f"les établissements de la région {REGIONS.get(scope.code, scope.code)} ({codes})"
    else:
        action_scope = "les établissements des départements français"
    frame = (
        upload.frame.join(reference_departements(reference), on="finess", how="left", maintain_order="left")
        .with_columns(finess_departement=finess_departement(pl.col("finess")))
        .with_columns(effective=pl.coalesce("departement", "known_departement", "finess_departement"))
        .with_columns(region=region_of(pl.col("effective")))
    )
    declared_outside = pl.col("departement").is_not_null() & ~scope.includes(
        pl.col("departement"), region_of(pl.col("departement")))
    unknown = pl.col("known_departement").is_null()
    finess_outside = unknown & (
        region_of(pl.col("finess_departement")).is_null()
        | ~scope.includes(pl.col("finess_departement"), region_of(pl.col("finess_departement"))))
    problems = []
    for row, departement in frame.filter(declared_outside).select(ROW, "departement").head(MAX_REPORTED).iter_rows():
        problems.append(upload.problem(
            f"Le département {departement} ({FRENCH_DEPARTEMENTS[departement][0]}) est hors du périmètre du "
            f"suivi CARE : {label}.",
            f"Vérifiez le département de cette ligne : le suivi CARE ne porte que sur {action_scope}.",
            row=row, column="departement", value=departement, check="departement_hors_region"))
    elsewhere = frame.filter(finess_outside & ~declared_outside).head(MAX_REPORTED)
    for row, finess, departement in elsewhere.select(ROW, "finess", "finess_departement").iter_rows():
        problems.append(upload.problem(
            f"Ce numéro FINESS est celui d'un établissement d'un autre département ({departement}), hors du "
            f"périmètre du suivi CARE : {label}.",
            f"Vérifiez le numéro : le suivi CARE ne porte que sur {action_scope}.",
            row=row, column="finess", value=finess, check="finess_hors_region"))
    for row, finess in frame.filter(unknown & ~finess_outside).select(ROW, "finess").head(MAX_REPORTED).iter_rows():
        problems.append(upload.problem(
            f"Ce numéro FINESS est bien formé mais absent du répertoire des établissements de santé de {label} "
            "(extraction FINESS 2021) : la ligne est acceptée (établissement récent ?).",
            "Rien à faire si l'établissement est récent ; sinon vérifiez le numéro (FINESS ET ou EJ).",
            row=row, column="finess", value=finess, severity="avertissement", check="finess_repertoire"))
    upload.frame = frame.with_columns(departement=pl.col("effective")).select(*upload.frame.columns, "region")
    return sorted(problems, key=lambda p: (p.row or 0, p.column or ""))[:MAX_REPORTED * 2]


SUMMARY_SHEETS = re.compile(r"^(synthese|recapitulatif|recap)\b")
# (pattern on the normalised label, measure, French words after the number); first match wins.
SUMMARY_LABELS = (
    (r"exercice.*(devant|doivent|requis|concern|obligat)|(devant|doivent).*exercice", "required",
     "établissements devant réaliser un exercice de crise"),
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


def summary_totals(path: Path, detail_sheet: str | None) -> tuple[str | None, list[tuple[int, str, str, int]]]:
    """(sheet, [(row, cell, label, number)]) of the summary sheet: 'label | number' or 'label : number'."""
    sheet = next((s for s in workbook_sheet_names(path)
                  if s != detail_sheet and SUMMARY_SHEETS.match(normalize_header(s))), None)
    if sheet is None:
        return None, []
    grid = read_xlsx(path, sheet)
    totals = []
    for index, cells in enumerate(grid.frame.iter_rows()):
        filled = [(position, " ".join(str(cell).split())) for position, cell in enumerate(cells)
                  if cell is not None and str(cell).strip()]
        if not filled:
            continue
        position, first = filled[0]
        inline = re.fullmatch(r"(.*?\D)\s*:\s*(\d[\d\s\u00a0\u202f]*)", first)
        if inline:
            label, number = inline.group(1).strip(), inline.group(2)
        elif len(filled) > 1 and _integer(first) is None:
            label, (position, number) = first, filled[1]
        else:
            continue
        value = _integer(number)
        if value is not None:
            row = grid.first_row + index
            totals.append((row, f"{grid.column_letters[position]}{row}", label, value))
    return sheet, totals


def _integer(text: str) -> int | None:
    compact = re.sub(r"[\s\u00a0\u202f]", "", text)
    found = re.fullmatch(r"(\d+)(\.0+)?", compact)
    return int(found.group(1)) if found else None


def reconcile_summary(upload: ParsedUpload) -> list[Problem]:
    """Each declared total of the summary sheet that the detail rows do not give is a warning."""
    try:
        sheet, totals = summary_totals(upload.path, upload.sheet)
    except Exception as error:  # noqa: BLE001 - an unreadable summary must not block the detail rows
        return [Problem(
            f"La feuille de synthèse n'a pas pu être lue ({type(error).__name__}) : les totaux déclarés "
            "ne sont pas contrôlés.", "Vérifiez la feuille « Synthèse » du classeur.",
            file=upload.path.name, severity="avertissement", check=RECONCILIATION)]
    counted = detail_counts(upload.frame)
    problems = []
    for row, cell, label, declared in totals:
        key = normalize_header(label)
        match = next(((measure, words) for pattern, measure, words in SUMMARY_LABELS if re.search(pattern, key)), None)
        if match is None or counted[match[0]] == declared:
            continue
        measure, words = match
        problems.append(Problem(
            f"La synthèse déclare {declared} {words}, le détail en compte {counted[measure]}.",
            "Les lignes du détail sont chargées et les indicateurs sont calculés sur elles : corrigez la "
            "synthèse ou le détail pour qu'ils concordent.",
            file=upload.path.name, sheet=sheet, row=row, column=label, cell=cell, value=str(declared),
            severity="avertissement", check=RECONCILIATION,
        ))
    return problems


# --- state date ------------------------------------------------------------------------------------

NAME_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_. ]?(0[1-9]|1[0-2])(?!\d)")


def state_period(path: Path, frame: pl.DataFrame) -> dt.date | None:
    """First day of the month of the state: a leading or embedded YYYY-MM in the file name, else the
    latest date of the file (registrations and exercises done; scheduled exercises are in the future),
    else the date the file was last modified (the upload date)."""
    found = NAME_MONTH.search(path.stem)
    if found:
        return dt.date(int(found.group(1)), int(found.group(2)), 1)
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
    check_rows=check_rows,
    quality_checks=(
        QualityCheck(RECONCILIATION, "Les totaux déclarés dans la feuille de synthèse (« Synthèse », "
                     "« Récapitulatif ») correspondent aux lignes du détail ; un écart est un avertissement "
                     "qui nomme les deux nombres.", "upload"),
        QualityCheck("finess_repertoire", "Chaque numéro FINESS figure au répertoire des établissements de santé "
                     "du périmètre CARE (la région du territoire, par défaut les Pays de la Loire ; FINESS 2021, "
                     "ET ou EJ) ; un numéro absent est un avertissement.", "upload"),
    ),
    freshness_days=120,
    indicators=(
        Indicator("care_registration_rate", "Établissements inscrits au programme CARE", 4,
                  "Établissements inscrits / établissements éligibles (une ligne du suivi = un établissement "
                  "éligible), sur le dernier état déposé ; segment NULL = ensemble, sinon la catégorie "
                  "(ght, non_lucratif, prive). Par région (celle du territoire, toutes pour la France) et par "
                  "département.", "taux"),
        Indicator("care_candidates_by_category", "Établissements candidats au programme CARE, par catégorie", 4,
                  "Numérateur = établissements candidats, dénominateur = établissements éligibles de la catégorie "
                  "(segment ght, non_lucratif, prive ; NULL = ensemble), valeur = part des candidats.", "taux"),
        Indicator("crisis_exercise_status", "Exercices de crise cyber par statut", 4,
                  "Établissements devant réaliser un exercice de crise, par statut (segment realise, programme, "
                  "a_realiser) / établissements devant en réaliser un (colonne « Exercice de crise requis », "
                  "à défaut ligne avec un statut). L'écart avec le total déclaré dans la synthèse est signalé "
                  "par le contrôle reconciliation_synthese.", "taux"),
    ),
)
