"""Sample upload for source ``mes_statistics`` (Mon espace santé usage statistics by commune).

Running the script (no arguments) writes two Assurance-Maladie-like CSV extracts (``;``,
UTF-8 with BOM, CRLF) for the 352 communes of Sarthe, November 2023 .. November 2024::

    raw/mes_statistics/MES_statistiques_communes_72_2023-11_2024-06.csv
        months written "2023-11"; Population with a no-break-space (U+00A0) thousands
        separator (e.g. "1 695" written with U+00A0)
    raw/mes_statistics/MES_statistiques_communes_72_2024-07_2024-11.csv
        months written "07/2024"; every number >= 1000 with a narrow no-break space (U+202F);
        plus one département row per month (Niveau "departement", code "72", "Sarthe") equal
        to the sum of the 352 commune rows (the pipeline reconciles them)

Figures (département = sums over the communes, ratio of sums; population =
population_municipale_pl2023, total 566,733):

- profils alimentés / profils ouverts at 2024-11 = 0.690 (roadmap: 69 %, end of November 2024);
- documents ajoutés over 2023-11 .. 2024-10 / 566,733 = 3.87 (roadmap: 3.87 per inhabitant,
  end of October 2024).

Communes differ (fed rate ~0.55-0.80, documents per inhabitant, opening rate), with an EPCI
effect so that the 17 EPCI differ too. Integers; profils_ouverts <= population;
profils_alimentes <= profils_ouverts.

For tests, :func:`simulate_mes` makes records with other targets, :func:`write_mes_file` writes
them (csv or xlsx, any encoding, delimiter, month style, thousands separator) and
:func:`build_mes_statistics` does both in one call. Only the standard library and openpyxl are
used; output is deterministic (fixed seeds).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

SOURCE_ID = "mes_statistics"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "reference"
RAW_DIR = ROOT / "raw" / SOURCE_ID
SEED = 20241130

HEADERS = [
    "Mois",
    "Niveau",
    "Code territoire",
    "Libellé",
    "Population",
    "Profils ouverts",
    "Profils alimentés",
    "Documents ajoutés",
]
FIELDS = [
    "mois",
    "niveau",
    "code_territoire",
    "libelle",
    "population",
    "profils_ouverts",
    "profils_alimentes",
    "documents_ajoutes",
]
NUMERIC = FIELDS[4:]
NBSP, NNBSP = "\u00a0", "\u202f"


# --------------------------------------------------------------------------- reference


def load_sarthe_communes(reference_dir: Path | str = REFERENCE_DIR) -> list[dict]:
    """The 352 communes of Sarthe (COG 2025): ``{"code", "nom", "population", "epci_siren"}``."""
    path = Path(reference_dir) / "cog2025_communes_72.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return [
            {
                "code": r["code_insee"],
                "nom": r["nom"],
                "population": int(r["population_municipale_pl2023"]),
                "epci_siren": r["epci_siren"],
            }
            for r in csv.DictReader(f)
        ]


def month_range(first: str, last: str) -> list[str]:
    """``month_range("2023-11", "2024-02")`` -> ``["2023-11", "2023-12", "2024-01", "2024-02"]``."""
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# --------------------------------------------------------------------------- simulation


def _integerize(values: list[float], total: int, caps: list[int] | None = None) -> list[int]:
    """Round non-negative floats to integers summing exactly to ``total`` (largest remainder),
    never above ``caps``."""
    floors = [math.floor(v) for v in values]
    if caps:
        floors = [min(f, c) for f, c in zip(floors, caps)]
    diff = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: values[i] - math.floor(values[i]), reverse=diff > 0)
    step = 1 if diff > 0 else -1
    i = 0
    while diff != 0:
        if i >= len(order) * 4:
            raise ValueError("cannot reach the requested total within the caps")
        k = order[i % len(order)]
        new = floors[k] + step
        if new >= 0 and (not caps or new <= caps[k]):
            floors[k] = new
            diff -= step
        i += 1
    return floors


def simulate_mes(
    months: Sequence[str],
    *,
    communes: Sequence[dict] | None = None,
    fed_rate: float = 0.69,
    fed_rate_month: str | None = None,
    docs_per_inhabitant: float = 3.87,
    docs_window_end: str | None = None,
    open_rate: float = 0.31,
    seed: int = SEED,
) -> list[dict]:
    """Simulate commune x month records whose département figures hit the targets exactly.

    Args:
        months: ``"YYYY-MM"`` months, in order (see :func:`month_range`).
        communes: items of :func:`load_sarthe_communes` (default: all 352 of Sarthe).
        fed_rate: sum(profils_alimentes) / sum(profils_ouverts) at ``fed_rate_month``
            (default last month); met to the unit: alimentés = round(fed_rate * ouverts).
        docs_per_inhabitant: documents added over the 12 months ending ``docs_window_end``
            (default the last month) / total population; total = round(rate * population). If
            fewer than 12 of those months are in ``months``, the target is prorated (k/12).
        open_rate: typical profils_ouverts / population at the last month (varies by commune).
        seed: random seed.

    Returns dicts with keys ``mois, niveau ("commune"), code_territoire, libelle, population,
    profils_ouverts, profils_alimentes, documents_ajoutes``, sorted by month then code.
    """
    months = list(months)
    communes = list(communes or load_sarthe_communes())
    fed_rate_month = fed_rate_month or months[-1]
    docs_window_end = docs_window_end or months[-1]
    end = months.index(docs_window_end)
    window = set(months[max(0, end - 11) : end + 1])
    rng = random.Random(seed)
    nm = len(months)
    t = [(i - (nm - 1)) / 12 for i in range(nm)]  # in years, 0 at the last month

    epci_effect = {}
    for siren in sorted({c["epci_siren"] for c in communes}):
        epci_effect[siren] = (rng.uniform(-0.07, 0.07), rng.uniform(-0.06, 0.06), rng.uniform(0.8, 1.2))
    # seasonality of documents (summer and Christmas dips) and a growth trend
    season = {"08": 0.78, "07": 0.9, "12": 0.88, "01": 1.05, "05": 0.95}

    opened, fed, docs = [], [], []  # per commune: list over months
    for c in communes:
        e_fed, e_open, e_docs = epci_effect[c["epci_siren"]]
        pop = c["population"]
        open_end = min(0.6, max(0.12, open_rate + e_open + rng.gauss(0, 0.04)))
        open_growth = rng.uniform(0.16, 0.30)  # share of the profiles opened in the last year
        o_series, prev = [], 0
        for i in range(nm):
            rate = open_end * max(0.1, 1 + open_growth * t[i]) + rng.gauss(0, 0.004)
            o = max(prev, min(pop, round(pop * rate)))
            o_series.append(o)
            prev = o
        fed_end = min(0.80, max(0.55, fed_rate + e_fed + rng.gauss(0, 0.035)))
        fed_slope = rng.uniform(0.05, 0.10)  # yearly increase of the fed rate
        f_series = [max(0.2, fed_end + fed_slope * t[i] + rng.gauss(0, 0.005)) for i in range(nm)]
        d_year = docs_per_inhabitant * e_docs * rng.uniform(0.8, 1.2)
        d_series = [
            pop * d_year / 12 * max(0.3, 1.12 + 0.24 * t[i]) * season.get(months[i][5:], 1.0) * rng.uniform(0.96, 1.04)
            for i in range(nm)
        ]
        opened.append(o_series)
        fed.append(f_series)
        docs.append(d_series)

    # profils alimentés: exact département rate at fed_rate_month
    alim = [[min(o, round(o * f)) for o, f in zip(os_, fs)] for os_, fs in zip(opened, fed)]
    j = months.index(fed_rate_month)
    floats = [opened[k][j] * fed[k][j] for k in range(len(communes))]
    target = round(fed_rate * sum(opened[k][j] for k in range(len(communes))))
    scale = target / sum(floats)
    exact = _integerize([v * scale for v in floats], target, [opened[k][j] for k in range(len(communes))])
    for k in range(len(communes)):
        alim[k][j] = exact[k]

    # documents: exact total over the window
    pop_total = sum(c["population"] for c in communes)
    cells = [(k, i) for k in range(len(communes)) for i in range(nm) if months[i] in window]
    total = round(docs_per_inhabitant * pop_total * len(window) / 12)
    scale = total / sum(docs[k][i] for k, i in cells)
    doc_int = [[round(v * scale) for v in ds] for ds in docs]
    for (k, i), v in zip(cells, _integerize([docs[k][i] * scale for k, i in cells], total)):
        doc_int[k][i] = v

    records = []
    for i, m in enumerate(months):
        for k, c in enumerate(communes):
            records.append(
                {
                    "mois": m,
                    "niveau": "commune",
                    "code_territoire": c["code"],
                    "libelle": c["nom"],
                    "population": c["population"],
                    "profils_ouverts": opened[k][i],
                    "profils_alimentes": alim[k][i],
                    "documents_ajoutes": doc_int[k][i],
                }
            )
    records.sort(key=lambda r: (r["mois"], r["code_territoire"]))
    return records


def departement_totals(records: Iterable[dict], code: str = "72", libelle: str = "Sarthe") -> list[dict]:
    """One ``niveau="departement"`` record per month, summing the commune records."""
    out: dict[str, dict] = {}
    for r in records:
        if r["niveau"] != "commune":
            continue
        t = out.setdefault(
            r["mois"],
            {
                "mois": r["mois"],
                "niveau": "departement",
                "code_territoire": code,
                "libelle": libelle,
                **{f: 0 for f in NUMERIC},
            },
        )
        for f in NUMERIC:
            t[f] += r[f]
    return [out[m] for m in sorted(out)]


# --------------------------------------------------------------------------- writing


def _month_text(month: str, style: str) -> str:
    return month if style == "iso" else f"{month[5:7]}/{month[:4]}"


def _number_text(value: int, sep: str | None) -> str:
    return f"{value:,}".replace(",", sep) if sep else str(value)


def write_mes_file(
    path: Path | str,
    records: Iterable[dict],
    *,
    month_style: str = "iso",
    thousands_sep: str | None = None,
    thousands_columns: Sequence[str] = tuple(NUMERIC),
    fmt: str | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str = ";",
    headers: Sequence[str] = tuple(HEADERS),
) -> Path:
    """Write records (see :func:`simulate_mes`) as an extract.

    Args:
        path: output file (folders created); ``.csv`` or ``.xlsx`` (``fmt`` overrides).
        month_style: ``"iso"`` -> ``2024-11``, ``"slash"`` -> ``11/2024``.
        thousands_sep: e.g. ``"\\u00a0"``, ``"\\u202f"`` or ``" "``: written in
            ``thousands_columns`` for numbers >= 1000 (csv only; xlsx cells stay numbers).
        encoding, delimiter: csv only (default UTF-8 with BOM, ``;``).
        headers: the 8 header texts, in the order of ``FIELDS``.
    Returns the path written.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    records = list(records)
    if fmt == "csv":
        with path.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
            w.writerow(headers)
            for r in records:
                w.writerow(
                    [_month_text(r["mois"], month_style), r["niveau"], r["code_territoire"], r["libelle"]]
                    + [_number_text(r[c], thousands_sep if c in thousands_columns else None) for c in NUMERIC]
                )
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "Statistiques MES"
        ws.append(list(headers))
        for r in records:
            ws.append(
                [_month_text(r["mois"], month_style), r["niveau"], r["code_territoire"], r["libelle"]]
                + [r[c] for c in NUMERIC]
            )
        wb.properties.created = datetime(2024, 12, 10, 9, 0)
        wb.save(path)
    else:
        raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
    return path


def build_mes_statistics(
    path: Path | str,
    months: Sequence[str],
    *,
    include_departement: bool = False,
    simulate_kwargs: dict | None = None,
    **write_kwargs,
) -> Path:
    """Simulate (``simulate_mes(months, **simulate_kwargs)``) and write one file
    (``write_mes_file(path, ..., **write_kwargs)``), optionally with département total rows
    after each month's communes."""
    records = simulate_mes(months, **(simulate_kwargs or {}))
    if include_departement:
        records = _with_departement(records)
    return write_mes_file(path, records, **write_kwargs)


def _with_departement(records: list[dict]) -> list[dict]:
    totals = {t["mois"]: t for t in departement_totals(records)}
    out: list[dict] = []
    for m in sorted(totals):
        out += [r for r in records if r["mois"] == m] + [totals[m]]
    return out


# --------------------------------------------------------------------------- main


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """Sarthe's communes, 11/2023 to 11/2024, in two extracts written as the Assurance Maladie does."""
    months = month_range("2023-11", "2024-11")
    records = simulate_mes(
        months, fed_rate=0.69, fed_rate_month="2024-11", docs_per_inhabitant=3.87, docs_window_end="2024-10"
    )
    first = [r for r in records if r["mois"] <= "2024-06"]
    second = _with_departement([r for r in records if r["mois"] >= "2024-07"])
    outs = [
        write_mes_file(
            folder / "MES_statistiques_communes_72_2023-11_2024-06.csv",
            first,
            month_style="iso",
            thousands_sep=NBSP,
            thousands_columns=("population",),
        ),
        write_mes_file(
            folder / "MES_statistiques_communes_72_2024-07_2024-11.csv",
            second,
            month_style="slash",
            thousands_sep=NNBSP,
        ),
    ]
    return outs
