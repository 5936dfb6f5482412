"""National-scale synthetic uploads, deterministic from a seed, in the stewards' formats (shared/sources.md).

    .venv/bin/python -m benchmarks.generate OUT_DIR [--scale france|72|x4|smoke] [--seed N]

- `mes_statistics/`: Mon espace santé statistics, every commune of the territory x 24 months
  (2023-01 .. 2024-12), one csv (about 840,000 rows for France). x4: four extracts of the same
  months (each later one corrects the previous: 4 times the rows to load).
- `pharmacy_survey/`: one survey wave answered by every pharmacy of the territory (about 21,000
  for France), xlsx. x4: four waves.
- `care_registrations/`: one CARE follow-up (xlsx, the Sarthe sample's format and builder) of about
  3,000 health establishments drawn from the national FINESS reference (file 9 of
  reference/SOURCES.md): the same share, 47 %, of the CARE scope of the territory (72: the
  establishments of région 52, about 165). x4: four states (2024-07 .. 2024-10).
- smoke: the Sarthe with 3 months of MES statistics, for CI (the whole benchmark in about a minute).

Vectorised (numpy, polars): generating France takes a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from assets.care_registrations.sample import build_care_followup
from assets.mes_statistics import sample as mes_sample
from assets.pharmacy_survey.sample import build_pharmacy_wave
from pipelines.foundation.settings import PROJECT_ROOT
from pipelines.reference.territory import Geography, Territory, finess_departement

REFERENCE = PROJECT_ROOT / "reference"
MONTHS = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
MES_HEADERS = mes_sample.HEADERS
# scale -> (territory, copies, months of MES statistics)
SCALES = {
    "72": ("72", 1, MONTHS),
    "france": ("france", 1, MONTHS),
    "x4": ("france", 4, MONTHS),
    "smoke": ("72", 1, MONTHS[-3:]),
}
CARE_SHARE = 3_000 / 6_410  # about 3,000 of the 6,410 health establishments of France
# FINESS category -> CARE category (the national file has no legal status): public hospitals are in a
# GHT, dialysis, home hospitalisation, SSR and cancer centres mostly non-profit, clinics private.
CARE_CATEGORIES = {
    **dict.fromkeys(("101", "106", "292", "355", "362"), "ght"),
    **dict.fromkeys(("109", "127", "131", "141", "146"), "non_lucratif"),
}


def communes(territory: str) -> pl.DataFrame:
    france = pl.read_csv(REFERENCE / "cog2025_communes_france.csv", infer_schema=False)
    if territory != "france":
        france = france.filter(pl.col("departement") == territory)
    # the few communes without inhabitants (villages « morts pour la France ») have no statistics
    return france.select("code_insee", "nom", pl.col("population_municipale").cast(pl.Int64)).filter(
        pl.col("population_municipale") > 0
    )


def mes_extract(territory: str, seed: int, months: list[str] = MONTHS) -> pl.DataFrame:
    """Communes x months; profiles open grow with time, fed <= open, documents seasonal."""
    rng = np.random.default_rng(seed)
    base = communes(territory)
    n, m = base.height, len(months)
    population = base["population_municipale"].to_numpy()
    open_rate = rng.uniform(0.15, 0.45, n)
    growth = np.linspace(0.7, 1.0, m)
    opened = np.floor(population[:, None] * open_rate[:, None] * growth[None, :]).astype(np.int64)
    fed = np.floor(opened * rng.uniform(0.5, 0.85, (n, 1)) * np.linspace(0.85, 1.0, m)[None, :]).astype(np.int64)
    monthly_documents = population[:, None] * 3.9 / 12 * rng.uniform(0.7, 1.3, (n, 1))
    documents = np.round(monthly_documents * rng.uniform(0.8, 1.2, (n, m))).astype(np.int64)
    return pl.DataFrame(
        {
            "Mois": np.tile(np.array(months), n),
            "Niveau": "commune",
            "Code territoire": np.repeat(base["code_insee"].to_numpy(), m),
            "Libellé": np.repeat(base["nom"].to_numpy(), m),
            "Population": np.repeat(population, m),
            "Profils ouverts": opened.ravel(),
            "Profils alimentés": fed.ravel(),
            "Documents ajoutés": documents.ravel(),
        }
    )


def pharmacies(territory: str) -> list[dict]:
    france = pl.read_csv(REFERENCE / "finess_pharmacies_france_stock20210108.csv", infer_schema=False)
    if territory != "france":
        france = france.filter(pl.col("departement") == territory)
    return [{"finess": f, "raison_sociale": rs} for f, rs in france.select("nofinesset", "rs").iter_rows()]


def care_establishments(territory: str) -> dict[str, list[dict]]:
    """The health establishments of the CARE scope of the territory (its région; France), by CARE category,
    in the national file's order: items {finess, raison_sociale, departement}."""
    geography = Geography.load(REFERENCE)
    scope = Territory.parse(territory, geography).regional(geography)
    france = pl.read_csv(REFERENCE / "finess_etab_sante_france_stock20210108.csv", infer_schema=False)
    france = france.with_columns(departement=finess_departement(pl.col("nofinesset"))).filter(
        scope.includes(pl.col("departement"), geography.region_of(pl.col("departement")))
    )
    pools: dict[str, list[dict]] = {"ght": [], "non_lucratif": [], "prive": []}
    for finess, name, departement, category in france.select(
        "nofinesset", "rs", "departement", "categetab"
    ).iter_rows():
        pools[CARE_CATEGORIES.get(category, "prive")].append(
            {"finess": finess, "raison_sociale": name, "departement": departement}
        )
    return pools


def care_followup(
    path: Path, pools: dict[str, list[dict]], state: dt.date, progress: float, seed: int, scope_label: str
) -> Path:
    """One state of the follow-up: 47 % of each category's establishments are eligible rows; candidates,
    registrations and crisis exercises grow with `progress` (0 .. 1)."""
    totals = {c: round(len(pool) * CARE_SHARE) for c, pool in pools.items()}
    candidates = {c: round(n * (0.90 + 0.06 * progress)) for c, n in totals.items()}
    registered = {c: round(n * (0.84 + 0.10 * progress)) for c, n in candidates.items()}
    done, scheduled = round(sum(registered.values()) * (0.6 + 0.2 * progress)), round(sum(registered.values()) * 0.05)
    todo = round(sum(registered.values()) * 0.15)
    return build_care_followup(
        path,
        category_totals=totals,
        category_candidates=candidates,
        category_registered=registered,
        crisis_done=done,
        crisis_scheduled=scheduled,
        crisis_todo=todo,
        state_date=state,
        region_label=scope_label,
        establishments=pools,
        seed=seed,
    )


def generate(out: Path, scale: str = "france", seed: int = 2026) -> list[Path]:
    territory, copies, months = SCALES[scale]
    written = []
    mes = out / "mes_statistics"
    mes.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        path = mes / f"MES_{territory}_{months[0]}_{months[-1]}_extraction_{copy + 1}.csv"
        mes_extract(territory, seed + copy, months).write_csv(path, separator=";")
        written.append(path)
    survey = out / "pharmacy_survey"
    listed = pharmacies(territory)
    for copy in range(copies):
        wave = dt.date(2024, 6 - copy, 1)
        count = len(listed)
        written.append(
            build_pharmacy_wave(
                survey / f"{wave:%Y-%m} enquete officines {territory}.xlsx",
                listed,
                mssante_count=round(count * (0.79 - copy / 100)),
                fax_count=round(count * 0.91),
                wave=wave,
                seed=seed + copy,
            )
        )
    care = out / "care_registrations"
    pools = care_establishments(territory)
    geography = Geography.load(REFERENCE)
    scope_label = Territory.parse(territory, geography).regional(geography).name or "France"
    for copy in range(copies):
        state = dt.date(2024, 10 - copy, 15)
        written.append(
            care_followup(
                care / f"{state:%Y-%m} suivi CARE {territory}.xlsx",
                pools,
                state,
                progress=1 - copy / 4,
                seed=seed + copy,
                scope_label=scope_label,
            )
        )
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", choices=list(SCALES), default="france")
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    for path in generate(arguments.out, arguments.scale, arguments.seed):
        print(f"{path}  {path.stat().st_size / 1e6:.1f} Mo")


if __name__ == "__main__":
    main()
