"""Source `mes_statistics`: Mon espace santé usage statistics (roadmap objective 2).

One row per territory (commune, EPCI or département) and month; one or many months per file.
A later file that repeats a (territory, month) replaces it (load.sql). The contract, in French,
is the generated page docs/sources/mes_statistics.md.

Everything here is vectorised (polars expressions); Python only loops over the few rows that
fail, to build their messages (at most a few hundred per rule), so that an extract for all of
France (~35,000 communes x 24 months) is validated in seconds.

Territories outside the territory in scope (a national extract) are recognised through the
national COG (reference/cog2025_communes_france.csv): they are valid but out of scope, reported
in one warning and not loaded. A code found in no reference is an error. A commune with no
inhabitant (the COG has six, the Meuse villages "morts pour la France") is accepted: its values
per inhabitant are undefined (NULL, with a note), and its rows count in the sums above it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandera.polars as pa
import polars as pl

from assets.mes_statistics import sample
from pipelines.contract import (
    FIRST_MONTH,
    ROW,
    Column,
    Indicator,
    MonthlyPeriods,
    Problem,
    QualityCheck,
    ReferenceData,
    SourceUnit,
    UploadedRow,
    UploadRows,
    format_count,
    format_month,
    per_distinct_value,
    rule,
    this_month,
    word_key_expr,
)

COUNTS = ("population", "profils_ouverts", "profils_alimentes", "documents_ajoutes")
LEVELS = ("commune", "epci", "departement")
LEVEL_LABELS = {"commune": "la commune", "epci": "l'EPCI", "departement": "le département"}
# What stewards write in the "Niveau" column (compared by word key: case, accents, punctuation ignored).
LEVEL_ALIASES = {
    "commune": "commune",
    "communes": "commune",
    "com": "commune",
    "comm": "commune",
    "epci": "epci",
    "intercommunalite": "epci",
    "interco": "epci",
    "groupement": "epci",
    "departement": "departement",
    "departements": "departement",
    "dep": "departement",
    "dept": "departement",
    "dpt": "departement",
}
CODE_FORMATS = {  # the code expected at each level
    "commune": (r"^(\d{5}|2[AB]\d{3})$", "un code INSEE de commune à 5 caractères (par exemple 72181)"),
    "epci": (r"^\d{9}$", "un numéro SIREN d'EPCI à 9 chiffres (par exemple 247200132)"),
    "departement": (r"^(\d{2,3}|2[AB])$", "un code de département (par exemple 72)"),
}
FRANCE_COMMUNES = "cog2025_communes_france.csv"  # reference/SOURCES.md, file 7

RECONCILIATION_CHECK = "mes_totaux_concordants"
SERIES_CHECK = "mes_series_completes"

COLUMNS = (
    Column("mois", "month", ("Mois", "Période", "Date", "Mois de référence"), "mois", required=True, nullable=False),
    Column("niveau", "text", ("Niveau", "Niveau géographique", "Maille"), "niveau géographique"),
    Column(
        "code_territoire",
        "text",
        ("Code territoire", "Code commune", "Code INSEE", "Code EPCI", "Code géographique", "Département"),
        "code du territoire",
        required=True,
        nullable=False,
    ),
    Column(
        "libelle",
        "text",
        ("Libellé", "Libellé territoire", "Nom du territoire", "Territoire", "Nom"),
        "libellé du territoire",
    ),
    Column(
        "population",
        "integer",
        ("Population", "Population municipale", "Nombre d'habitants"),
        "population",
        required=True,
        nullable=False,
    ),
    Column(
        "profils_ouverts",
        "integer",
        ("Profils ouverts", "Espaces santé ouverts", "Nombre de profils MES", "Profils MES"),
        "profils ouverts",
        required=True,
        nullable=False,
    ),
    Column(
        "profils_alimentes",
        "integer",
        ("Profils alimentés", "Profils avec au moins 1 document", "Espaces alimentés"),
        "profils alimentés",
        required=True,
        nullable=False,
    ),
    Column(
        "documents_ajoutes",
        "integer",
        ("Documents ajoutés", "Nombre de documents", "Documents déposés"),
        "documents ajoutés",
        required=True,
        nullable=False,
    ),
)


def given_level(expr: pl.Expr) -> pl.Expr:
    """The level written in the file, canonical ('Département ' -> 'departement'); null when empty or unknown."""
    return word_key_expr(expr).replace_strict(LEVEL_ALIASES, default=None, return_dtype=pl.String)


def territory_code(expr: pl.Expr) -> pl.Expr:
    """Spaces (SIREN written '247 200 132'), an Excel '.0' and lower case removed."""
    return expr.str.replace_all(r"[\s\u00a0\u202f]", "").str.replace(r"\.0$", "").str.to_uppercase()


def effective_level(level: pl.Expr, code: pl.Expr) -> pl.Expr:
    """The level given, else inferred from the code length: 5 = commune, 9 = EPCI, 2-3 = département."""
    length = code.str.len_chars()
    inferred = (
        pl.when(length == 5)
        .then(pl.lit("commune"))
        .when(length == 9)
        .then(pl.lit("epci"))
        .when(length.is_in([2, 3]))
        .then(pl.lit("departement"))
    )
    return pl.coalesce(given_level(level), inferred)


class MesStatisticsRow(UploadedRow):
    """One territory and one month of Mon espace santé statistics.

    Emptiness and unreadable values are reported by the shared parser (columns are declared
    non-nullable there), so nulls are let through here rather than reported twice.
    """

    mois: pl.Date = pa.Field(nullable=True)
    niveau: str = pa.Field(nullable=True)
    code_territoire: str = pa.Field(nullable=True)
    libelle: str = pa.Field(nullable=True)
    population: int = pa.Field(nullable=True)
    profils_ouverts: int = pa.Field(nullable=True)
    profils_alimentes: int = pa.Field(nullable=True)
    documents_ajoutes: int = pa.Field(nullable=True)

    @pa.check(
        "mois",
        name="mois_possible",
        error=f"Ce mois est impossible : Mon espace santé est ouvert à tous depuis {FIRST_MONTH:%m/%Y} et "
        "un mois à venir n'a pas encore de statistiques. → Vérifiez l'année et le mois (par exemple 11/2024).",
    )
    def month_is_possible(cls, data: pa.PolarsData) -> pl.LazyFrame:
        column = pl.col(data.key)
        return data.lazyframe.select(column.is_null() | column.is_between(FIRST_MONTH, this_month()))

    @pa.check(
        "population",
        "profils_ouverts",
        "profils_alimentes",
        "documents_ajoutes",
        name="effectif_positif",
        error="Un effectif ne peut pas être négatif. → Saisissez le nombre tel que publié par "
        "l'Assurance Maladie (0 s'il n'y en a aucun ; une commune sans habitant a une population de 0).",
    )
    def count_is_not_negative(cls, data: pa.PolarsData) -> pl.LazyFrame:
        column = pl.col(data.key)
        return data.lazyframe.select(column.is_null() | (column >= 0))

    # Registered on the column so that the problem names the cell of « Profils alimentés »
    # (a dataframe-level check would be reported under the model's name, with no cell).
    @pa.check(
        "profils_alimentes",
        name="alimentes_au_plus_ouverts",
        error="Les profils alimentés dépassent les profils ouverts de la même ligne : un profil alimenté "
        "(au moins un document) est d'abord un profil ouvert. → Vérifiez les deux colonnes de la ligne "
        "(colonnes inversées ?) et corrigez le fichier.",
    )
    def fed_within_opened(cls, data: pa.PolarsData) -> pl.LazyFrame:
        fed, opened = pl.col("profils_alimentes"), pl.col("profils_ouverts")
        return data.lazyframe.select(fed.is_null() | opened.is_null() | (fed <= opened))


# --- reference checks ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _france_communes(path: Path) -> pl.DataFrame | None:
    if not path.exists():
        return None
    return pl.read_csv(path, infer_schema=False, columns=["code_insee", "departement", "region", "epci_siren"])


def commune_memberships(reference: ReferenceData) -> pl.DataFrame:
    """Every known commune: code_insee, departement, region, epci_siren, in_scope (commune of the reference)."""
    local = reference.table("commune").select("code_insee", "departement", "region", "epci_siren")
    france = _france_communes(reference.reference_dir / FRANCE_COMMUNES)
    known = local if france is None else pl.concat([local, france.join(local, on="code_insee", how="anti")])
    return known.with_columns(in_scope=pl.col("code_insee").is_in(local["code_insee"].implode()))


def _territories(reference: ReferenceData, memberships: pl.DataFrame) -> pl.DataFrame:
    """Every known territory: niveau, code, in_scope, members (communes), members_in_scope."""
    territory = reference.territory
    epci_in_scope = reference.table("epci")["epci_siren"].implode()
    by = {
        "commune": pl.col("code_insee"),
        "epci": pl.col("epci_siren"),
        "departement": pl.col("departement"),
    }
    frames = []
    for level, code in by.items():
        frames.append(
            memberships.filter(code.is_not_null())
            .group_by(code.alias("code_territoire"))
            .agg(members=pl.len(), members_in_scope=pl.col("in_scope").sum(), region=pl.col("region").first())
            .with_columns(niveau=pl.lit(level))
        )
    known = pl.concat(frames, how="diagonal").with_columns(
        in_scope=pl.when(pl.col("niveau") == "commune")
        .then(pl.col("members_in_scope") > 0)
        .when(pl.col("niveau") == "epci")
        .then(pl.col("code_territoire").is_in(epci_in_scope))
        .otherwise(territory.includes(pl.col("code_territoire"), pl.col("region")))
    )
    return known.select("niveau", "code_territoire", "in_scope", "members", "members_in_scope")


def derive_territories(rows: UploadRows, reference: ReferenceData) -> pl.DataFrame:
    """The canonical level and code of each row (what load.sql stores), and what the reference knows of
    the territory: `in_scope` (null: unknown territory; false: valid, of another territory, not loaded),
    its communes (`members`) and those in scope (`members_in_scope`)."""
    frame = rows.frame.with_columns(
        per_distinct_value(rows.frame["code_territoire"], territory_code), niveau_saisi=pl.col("niveau")
    )
    levels = frame.select(pl.struct("niveau", "code_territoire").alias("level_and_code")).to_series()
    frame = frame.with_columns(
        per_distinct_value(
            levels, lambda both: effective_level(both.struct.field("niveau"), both.struct.field("code_territoire"))
        ).alias("niveau")
    )
    territories = _territories(reference, commune_memberships(reference))
    return frame.join(territories, on=["niveau", "code_territoire"], how="left", maintain_order="left")


def _malformed() -> pl.Expr:
    wrong = pl.lit(False)
    for level, (pattern, _) in CODE_FORMATS.items():
        wrong = wrong | ((pl.col("niveau") == level) & ~pl.col("code_territoire").str.contains(pattern))
    return wrong


@rule(
    "Le niveau (commune, EPCI, département) est reconnu ou se déduit du code ; le code a le format de son niveau et existe dans le COG 2025."
)
def check_codes(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """A level given or inferable, a code of its level's format, a territory of the reference."""
    frame = rows.frame
    problems = rows.problems_for(
        frame.filter(pl.col("niveau_saisi").is_not_null() & given_level(pl.col("niveau_saisi")).is_null()),
        lambda r: rows.problem(
            "Le niveau géographique n'est pas reconnu.",
            "Écrivez « commune », « EPCI » ou « département », ou laissez la cellule vide (le niveau est alors "
            "déduit de la longueur du code : 5 = commune, 9 = EPCI, 2 ou 3 = département).",
            row=r[ROW],
            column="niveau",
            value=r["niveau_saisi"],
            check="niveau_reconnu",
        ),
    )
    frame = frame.filter(pl.col("niveau_saisi").is_null() | given_level(pl.col("niveau_saisi")).is_not_null())
    problems += rows.problems_for(
        frame.filter(pl.col("niveau").is_null() & pl.col("code_territoire").is_not_null()),
        lambda r: rows.problem(
            f"Impossible de déduire le niveau géographique d'un code de {len(r['code_territoire'])} "
            "caractère(s) (5 = commune, 9 = EPCI, 2 ou 3 = département).",
            "Renseignez la colonne « Niveau » (commune, EPCI ou département) ou corrigez le code.",
            row=r[ROW],
            column="code_territoire",
            value=r["code_territoire"],
            check="niveau_indetermine",
        ),
    )
    for level, (pattern, expected) in CODE_FORMATS.items():
        malformed = frame.filter((pl.col("niveau") == level) & ~pl.col("code_territoire").str.contains(pattern))
        problems += rows.problems_for(
            malformed,
            lambda r, level=level, expected=expected: rows.problem(
                f"Ce code n'a pas le format attendu pour {LEVEL_LABELS[level]}.",
                f"Saisissez {expected}.",
                row=r[ROW],
                column="code_territoire",
                value=r["code_territoire"],
                check="code_territoire_format",
            ),
        )
    unknown = frame.filter(pl.col("in_scope").is_null() & pl.col("niveau").is_not_null() & ~_malformed())
    for level, message, action, check in (
        (
            "commune",
            "Ce code commune n'existe pas dans le code officiel géographique (COG 2025).",
            "Saisissez le code INSEE de la commune (5 caractères, par exemple 72181), pas son code postal.",
            "commune_inconnue",
        ),
        (
            "epci",
            "Ce numéro SIREN n'est celui d'aucun EPCI du code officiel géographique (COG 2025).",
            "Saisissez le SIREN de l'EPCI (9 chiffres) tel qu'il figure dans le COG.",
            "epci_inconnu",
        ),
        (
            "departement",
            "Ce code n'est celui d'aucun département.",
            "Saisissez le code du département (par exemple 72).",
            "departement_inconnu",
        ),
    ):
        problems += rows.problems_for(
            unknown.filter(pl.col("niveau") == level),
            lambda r, m=message, a=action, c=check: rows.problem(
                m, a, row=r[ROW], column="code_territoire", value=r["code_territoire"], check=c
            ),
        )
    return problems


@rule("Une seule ligne par territoire et par mois.")
def check_one_row_per_territory_and_month(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    key = ["niveau", "code_territoire", "mois"]
    duplicated = rows.frame.filter(pl.struct(key).is_duplicated() & pl.col("niveau").is_not_null()).with_columns(
        same=pl.col(ROW).implode().over(key)
    )
    return rows.problems_for(
        duplicated,
        lambda r: rows.problem(
            f"Le territoire {r['code_territoire']} ({r['niveau']}) apparaît plusieurs fois pour le mois "
            f"{format_month(r['mois'])} : aussi ligne(s) "
            + ", ".join(str(x) for x in r["same"] if x != r[ROW])[:200]
            + ".",
            "Gardez une seule ligne par territoire et par mois (supprimez les doublons).",
            row=r[ROW],
            column="code_territoire",
            value=r["code_territoire"],
            check="territoire_mois_unique",
        ),
    )


@rule(
    "Les territoires hors du territoire de l'entrepôt (extraction nationale) sont signalés en un avertissement et ne sont pas chargés."
)
def report_out_of_scope(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """Rows of territories outside the territory in scope: one warning, they are not loaded."""
    outside = rows.frame.filter(pl.col("in_scope") == False)  # noqa: E712 - polars expression
    if outside.height == 0:
        return []
    codes = outside.select(pl.col("code_territoire").n_unique()).item()
    return [
        rows.problem(
            f"{outside.height} ligne(s) ({codes} territoire(s)) concernent des territoires hors du périmètre "
            f"de l'entrepôt, {reference.territory.label} (par exemple {outside['code_territoire'][0]}, ligne "
            f"{outside[ROW][0]}) : elles sont ignorées.",
            "Rien à faire si le fichier est une extraction nationale ; sinon vérifiez les codes.",
            column="code_territoire",
            severity="avertissement",
            check="hors_departement",
        )
    ]


@rule(
    "Les lignes de total (EPCI, département) égalent la somme de leurs communes du même fichier et du même mois ; sinon un avertissement donne les deux nombres."
)
def reconcile_totals(rows: UploadRows, reference: ReferenceData) -> list[Problem]:
    """EPCI and département total rows against the sum of their communes of the same file and month.

    Compared when the file has at least one commune of the territory that month, and, for a
    territory that extends beyond the territory in scope (an EPCI across the border), only when every
    one of its communes is in the file (otherwise its total cannot be rebuilt from the file).
    """
    frame = rows.frame
    if frame.filter(pl.col("niveau").is_in(["epci", "departement"])).height == 0:
        return []  # communes only (the usual extract): no total to reconcile
    memberships = commune_memberships(reference)
    communes = frame.filter(pl.col("niveau") == "commune").join(
        memberships.select("code_insee", "departement", "epci_siren"),
        left_on="code_territoire",
        right_on="code_insee",
        how="inner",
    )
    sums = pl.concat(
        [
            communes.filter(pl.col(code).is_not_null())
            .group_by(pl.col(code).alias("code_territoire"), "mois")
            .agg(*(pl.col(c).sum().alias(f"{c}_communes") for c in COUNTS), communes=pl.len())
            .with_columns(niveau=pl.lit(level))
            for level, code in (("epci", "epci_siren"), ("departement", "departement"))
        ],
        how="diagonal",
    )
    totals = frame.filter(pl.col("niveau").is_in(["epci", "departement"]) & pl.col("in_scope")).join(
        sums, on=["niveau", "code_territoire", "mois"], how="inner"
    )
    totals = totals.filter(
        (pl.col("members") == pl.col("members_in_scope")) | (pl.col("communes") == pl.col("members"))
    )
    problems = []
    for column in COUNTS:
        label = next(c.label for c in COLUMNS if c.name == column)
        mismatched = totals.filter(pl.col(column) != pl.col(f"{column}_communes"))
        problems += rows.problems_for(
            mismatched,
            lambda r, column=column, label=label: rows.problem(
                f"Le total déclaré pour {LEVEL_LABELS[r['niveau']]} {r['code_territoire']} en "
                f"{format_month(r['mois'])} ne correspond pas à la somme de ses communes dans le fichier "
                f"({r['communes']} commune(s) sur {r['members_in_scope']}) : {label} "
                f"{format_count(r[column])} déclaré(s), {format_count(r[f'{column}_communes'])} en additionnant les "
                "communes. Les indicateurs sont calculés sur la somme des communes.",
                "Vérifiez que le total et le détail viennent de la même extraction ; corrigez la ligne de "
                "total ou complétez les communes.",
                row=r[ROW],
                column=column,
                value=r[column],
                severity="avertissement",
                check=RECONCILIATION_CHECK,
            ),
        )
    return problems


def month_of_upload(path: Path, frame: pl.DataFrame):
    """The latest month of the file (a file may hold many months)."""
    return frame["mois"].max() if "mois" in frame.columns and frame.height else None


SOURCE = SourceUnit(
    source_id="mes_statistics",
    label="Statistiques d'usage de Mon espace santé",
    objective=2,
    columns=COLUMNS,
    schema=MesStatisticsRow,
    directory=Path(__file__).parent,
    upload_period=month_of_upload,
    period_label="mois couvert",
    sheet_names=("Statistiques MES", "Statistiques", "Données", "MES"),
    steward="la CPAM de la Sarthe, qui transmet les extractions de l'Assurance Maladie",
    owner="team:cpam-sarthe",
    contract="Une extraction des statistiques Mon espace santé de l'Assurance Maladie (csv ou xlsx) : une ligne "
    "par territoire (commune, EPCI ou département) et par mois, un ou plusieurs mois par fichier. Un fichier "
    "plus récent qui répète un territoire et un mois le remplace ; les autres mois sont gardés. Les lignes "
    "d'EPCI ou de département sont rapprochées de la somme de leurs communes. Une extraction nationale est "
    "acceptée : les territoires hors du territoire de l'entrepôt sont signalés et ignorés.",
    derive=derive_territories,
    rules=(check_codes, check_one_row_per_territory_and_month, report_out_of_scope, reconcile_totals),
    subject_column="libelle",
    write_samples=sample.write_samples,
    quality_checks=(
        QualityCheck(
            RECONCILIATION_CHECK,
            "Les lignes de total (EPCI, département) d'un fichier égalent la somme de leurs communes du même "
            "fichier et du même mois ; sinon un avertissement donne les deux nombres (les indicateurs "
            "utilisent la somme des communes).",
            stage="upload",
        ),
        QualityCheck(
            SERIES_CHECK,
            "Aucun mois ne manque dans la série d'un territoire (ni aucune commune dans celle d'un EPCI ou du "
            "département) : sinon les documents ajoutés par habitant ne sont pas calculés sur les fenêtres "
            "de 12 mois concernées.",
            stage="indicators",
        ),
    ),
    freshness_days=100,
    # documents per inhabitant sums the 12 months ending each month: a month changes 12 values
    monthly=MonthlyPeriods(column="mois", window=12),
    indicators=(
        Indicator(
            "mes_profiles_fed_rate",
            "Profils Mon espace santé alimentés",
            2,
            "Profils Mon espace santé ayant reçu au moins un document / profils ouverts, en fin de mois. "
            "EPCI et département : somme des communes (rapport des sommes).",
            "taux",
        ),
        Indicator(
            "mes_documents_per_inhabitant",
            "Documents ajoutés dans Mon espace santé par habitant sur 12 mois",
            2,
            "Documents ajoutés au cours des 12 mois se terminant le mois considéré / population du mois. "
            "Non calculé si l'un des 12 mois manque pour le territoire ; non défini (NULL, avec une note) "
            "pour un territoire sans habitant. EPCI et département : somme des communes (rapport des "
            "sommes).",
            "par habitant",
        ),
    ),
)
