"""The script an analyst would write today (pandas + openpyxl), computing the same indicators.

    python benchmarks/baseline.py RAW_DIR OUT.csv

No validation, no lineage, no audit, no publication: the yardstick the project must beat while
doing all of that. Its values are compared with the project's in tests/test_benchmarks.py.
"""

import sys
from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def mes_indicators(files: list[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(f, sep=";", dtype={"Code territoire": str}) for f in sorted(files)]
    data = pd.concat(frames).drop_duplicates(["Code territoire", "Mois"], keep="last")  # later files win
    data = data.rename(
        columns={
            "Code territoire": "code_insee",
            "Profils ouverts": "ouverts",
            "Profils alimentés": "alimentes",
            "Documents ajoutés": "documents",
        }
    )
    communes = pd.read_csv(REFERENCE / "cog2025_communes_france.csv", dtype=str)[
        ["code_insee", "departement", "epci_siren"]
    ]
    data = data.merge(communes, on="code_insee")
    results = []
    for level, key in (("commune", "code_insee"), ("epci", "epci_siren"), ("departement", "departement")):
        monthly = data.groupby([key, "Mois"], as_index=False)[["Population", "ouverts", "alimentes", "documents"]].sum()
        monthly = monthly.sort_values([key, "Mois"])
        fed = monthly.assign(indicator_id="mes_profiles_fed_rate", value=monthly.alimentes / monthly.ouverts)
        rolling = monthly.groupby(key)["documents"].rolling(12).sum().reset_index(level=0, drop=True)
        docs = monthly.assign(indicator_id="mes_documents_per_inhabitant", value=rolling / monthly.Population)
        for frame in (fed, docs.dropna(subset=["value"])):
            results.append(
                frame.rename(columns={key: "territory_code", "Mois": "period"}).assign(territory_level=level)[
                    ["indicator_id", "territory_level", "territory_code", "period", "value"]
                ]
            )
    return pd.concat(results)


def pharmacy_indicators(files: list[Path]) -> pd.DataFrame:
    results = []
    for path in sorted(files):
        sheet = pd.read_excel(path, header=None, dtype=str, engine="openpyxl")
        header = sheet.index[sheet.iloc[:, 0].astype(str).str.contains("FINESS", case=False, na=False)][0]
        survey = sheet.iloc[header + 1 :].set_axis(sheet.iloc[header], axis=1).dropna(how="all")
        yes = {"oui", "o", "x", "1", "vrai", "yes", "y", "true"}
        answer = lambda column, survey=survey, yes=yes: survey[column].astype(str).str.strip().str.lower().isin(yes)  # noqa: E731
        mssante = answer(next(c for c in survey.columns if "MSS" in str(c)))
        fax = answer(next(c for c in survey.columns if "fax" in str(c).lower() and "envoi" not in str(c).lower()))
        departement = survey[next(c for c in survey.columns if "FINESS" in str(c))].str[:2]
        period = path.name[:7]
        for indicator, flag in (("pharmacy_mssante_rate", mssante), ("pharmacy_fax_rate", fax)):
            rate = flag.groupby(departement).mean()
            results.append(
                pd.DataFrame(
                    {
                        "indicator_id": indicator,
                        "territory_level": "departement",
                        "territory_code": rate.index,
                        "period": period,
                        "value": rate.values,
                    }
                )
            )
    return pd.concat(results) if results else pd.DataFrame()


def care_indicators(files: list[Path]) -> pd.DataFrame:
    """The latest CARE follow-up (state month at the start of the file name): registered, candidates and
    crisis exercises by région and département, overall and by category."""
    if not files:
        return pd.DataFrame()
    path = max(files, key=lambda f: f.name[:7])
    sheet = pd.read_excel(path, sheet_name="Suivi établissements", header=None, dtype=str, engine="openpyxl")
    header = sheet.index[sheet.iloc[:, 0].astype(str).str.contains("FINESS", case=False, na=False)][0]
    care = sheet.iloc[header + 1 :].set_axis(sheet.iloc[header], axis=1).dropna(how="all")
    yes = {"oui", "o", "x", "1", "vrai", "yes", "y", "true"}
    answer = lambda column: care[column].astype(str).str.strip().str.lower().isin(yes)  # noqa: E731
    categories = {
        "ght": "ght",
        "espic": "non_lucratif",
        "privé non lucratif": "non_lucratif",
        "privé lucratif": "prive",
        "privé": "prive",
    }
    statuses = {"réalisé": "realise", "programmé": "programme", "à réaliser": "a_realiser"}
    departement = care["Département"].str.strip().str.zfill(2)
    regions = (
        pd.read_csv(REFERENCE / "cog2025_communes_france.csv", dtype=str)[["departement", "region"]]
        .drop_duplicates()
        .set_index("departement")["region"]
    )
    status = care["Statut exercice de crise"].str.strip().str.lower().map(statuses)
    rows = pd.DataFrame(
        {
            "departement": departement,
            "region": departement.map(regions),
            "categorie": care["Catégorie"].str.strip().str.lower().map(categories),
            "candidat": answer("Candidat"),
            "inscrit": answer("Inscrit"),
            "requis": answer("Exercice de crise requis"),
            "statut": status,
        }
    )
    period = path.name[:7]
    results = []
    for level in ("region", "departement"):
        for segment, group in [(None, rows), *rows.groupby("categorie")]:
            counts = group.groupby(level).agg(
                eligible=("inscrit", "size"), inscrits=("inscrit", "sum"), candidats=("candidat", "sum")
            )
            for indicator, numerator in (
                ("care_registration_rate", "inscrits"),
                ("care_candidates_by_category", "candidats"),
            ):
                results.append(
                    pd.DataFrame(
                        {
                            "indicator_id": indicator,
                            "territory_level": level,
                            "territory_code": counts.index,
                            "period": period,
                            "segment": segment,
                            "value": counts[numerator] / counts.eligible,
                        }
                    )
                )
        required = rows[rows.requis]
        for code, count in (("realise", "realise"), ("programme", "programme"), ("a_realiser", "a_realiser")):
            share = (required.statut == count).groupby(required[level]).mean()
            results.append(
                pd.DataFrame(
                    {
                        "indicator_id": "crisis_exercise_status",
                        "territory_level": level,
                        "territory_code": share.index,
                        "period": period,
                        "segment": code,
                        "value": share.values,
                    }
                )
            )
    return pd.concat(results)


def main(raw: Path, out: Path) -> None:
    mes = mes_indicators(list((raw / "mes_statistics").glob("*.csv")))
    pharmacies = pharmacy_indicators(list((raw / "pharmacy_survey").glob("*.xlsx")))
    care = care_indicators(list((raw / "care_registrations").glob("*.xlsx")))
    pd.concat([mes, pharmacies, care]).to_csv(out, index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
