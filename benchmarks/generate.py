"""National-scale synthetic uploads, deterministic from a seed, in the stewards' formats (shared/sources.md).

    .venv/bin/python -m benchmarks.generate OUT_DIR [--scale france|72|x4] [--seed N]

- `mes_statistics/`: Mon espace santé statistics, every commune of the territory x 24 months
  (2023-01 .. 2024-12), one csv (about 840,000 rows for France). x4: four extracts of the same
  months (each later one corrects the previous: 4 times the rows to load).
- `pharmacy_survey/`: one survey wave answered by every pharmacy of the territory (about 21,000
  for France), xlsx. x4: four waves.

Vectorised (numpy, polars): generating France takes a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.settings import PROJECT_ROOT
from samples.make_pharmacy_survey import build_pharmacy_wave

REFERENCE = PROJECT_ROOT / "reference"
MONTHS = [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
MES_HEADERS = ["Mois", "Niveau", "Code territoire", "Libellé", "Population", "Profils ouverts",
               "Profils alimentés", "Documents ajoutés"]
SCALES = {"72": ("72", 1), "france": ("france", 1), "x4": ("france", 4)}


def communes(territory: str) -> pl.DataFrame:
    france = pl.read_csv(REFERENCE / "cog2025_communes_france.csv", infer_schema=False)
    if territory != "france":
        france = france.filter(pl.col("departement") == territory)
    # the few communes without inhabitants (villages « morts pour la France ») have no statistics
    return france.select("code_insee", "nom", pl.col("population_municipale").cast(pl.Int64)).filter(
        pl.col("population_municipale") > 0)


def mes_extract(territory: str, seed: int) -> pl.DataFrame:
    """Communes x months; profiles open grow with time, fed <= open, documents seasonal."""
    rng = np.random.default_rng(seed)
    base = communes(territory)
    n, m = base.height, len(MONTHS)
    population = base["population_municipale"].to_numpy()
    open_rate = rng.uniform(0.15, 0.45, n)
    growth = np.linspace(0.7, 1.0, m)
    opened = np.floor(population[:, None] * open_rate[:, None] * growth[None, :]).astype(np.int64)
    fed = np.floor(opened * rng.uniform(0.5, 0.85, (n, 1)) * np.linspace(0.85, 1.0, m)[None, :]).astype(np.int64)
    monthly_documents = population[:, None] * 3.9 / 12 * rng.uniform(0.7, 1.3, (n, 1))
    documents = np.round(monthly_documents * rng.uniform(0.8, 1.2, (n, m))).astype(np.int64)
    return pl.DataFrame({
        "Mois": np.tile(np.array(MONTHS), n),
        "Niveau": "commune",
        "Code territoire": np.repeat(base["code_insee"].to_numpy(), m),
        "Libellé": np.repeat(base["nom"].to_numpy(), m),
        "Population": np.repeat(population, m),
        "Profils ouverts": opened.ravel(),
        "Profils alimentés": fed.ravel(),
        "Documents ajoutés": documents.ravel(),
    })


def pharmacies(territory: str) -> list[dict]:
    france = pl.read_csv(REFERENCE / "finess_pharmacies_france_stock20210108.csv", infer_schema=False)
    if territory != "france":
        france = france.filter(pl.col("departement") == territory)
    return [{"finess": f, "raison_sociale": rs} for f, rs in france.select("nofinesset", "rs").iter_rows()]


def generate(out: Path, scale: str = "france", seed: int = 2026) -> list[Path]:
    territory, copies = SCALES[scale]
    written = []
    mes = out / "mes_statistics"
    mes.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        path = mes / f"MES_{territory}_2023-01_2024-12_extraction_{copy + 1}.csv"
        mes_extract(territory, seed + copy).write_csv(path, separator=";")
        written.append(path)
    survey = out / "pharmacy_survey"
    listed = pharmacies(territory)
    for copy in range(copies):
        wave = dt.date(2024, 6 - copy, 1)
        count = len(listed)
        written.append(build_pharmacy_wave(
            survey / f"{wave:%Y-%m} enquete officines {territory}.xlsx", listed,
            mssante_count=round(count * (0.79 - copy / 100)), fax_count=round(count * 0.91), wave=wave,
            seed=seed + copy,
        ))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scale", choices=sorted(SCALES), default="france")
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    for path in generate(arguments.out, arguments.scale, arguments.seed):
        print(f"{path}  {path.stat().st_size / 1e6:.1f} Mo")


if __name__ == "__main__":
    main()
