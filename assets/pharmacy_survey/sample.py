"""Sample upload for source ``pharmacy_survey`` (MSSanté and fax survey of Sarthe pharmacies).

Running the script (no arguments) writes the June 2024 wave, as a data steward would send it::

    raw/pharmacy_survey/2024-06 enquete officines.xlsx

156 of the 163 Sarthe pharmacies of the FINESS reference (categetab 620), chosen
deterministically; 123 equipped with MSSanté (78.8 %), 142 with a fax (91.0 %), 112 of the
123 equipped ones with a fax (91.1 %): the roadmap figures.

The file imitates a survey-tool export reworked in Excel: a merged title row, an empty row,
French headers (one with a line break, some ending with "?"), yes/no answers mostly "Oui"/"Non"
with a few variants ("oui", "O", "N", "X", " Non "), FINESS and commune codes as text cells,
Excel datetimes in "Horodateur", respondent personal data (fake names, e-mails, phones, which
the pipeline must drop), and two trailing formatted-but-empty rows.

For tests, :func:`build_pharmacy_wave` writes a wave with other numbers (xlsx or csv, any
encoding and delimiter) into any folder; :func:`load_sarthe_pharmacies` gives the reference list.
Only the standard library and openpyxl are used; output is deterministic (fixed seeds).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from pipelines.contract.samples import save_workbook

SOURCE_ID = "pharmacy_survey"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "reference"
RAW_DIR = ROOT / "raw" / SOURCE_ID
SEED = 20240603

HEADERS = [
    "N° FINESS",
    "Nom de l'officine",
    "Code commune",
    "Équipée MSSanté ?",
    "Opérateur MSSanté",
    "Possède un fax ?",
    "Nombre de fax envoyés\npar semaine",
    "Horodateur",
    "Nom du répondant",
    "Adresse e-mail",
    "Téléphone",
]

OPERATORS = [
    "Mailiz",
    "Mailiz",
    "Mailiz",
    "Apicrypt",
    "Apicrypt",
    "Dédalus",
    "Pharmagest (LGPI)",
    "Winpharma",
    "Lifen",
    "Medimail",
]
FIRST_NAMES = [
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sophie",
    "Claire",
    "Anne",
    "Camille",
    "Julie",
    "Émilie",
    "Céline",
    "Sandrine",
    "Aurélie",
    "Hélène",
    "Pauline",
    "Laure",
    "Agnès",
    "Pierre",
    "Jean",
    "Nicolas",
    "Thomas",
    "Julien",
    "François",
    "Olivier",
    "Stéphane",
    "Philippe",
    "Mathieu",
    "Guillaume",
    "Antoine",
    "Benoît",
    "Sébastien",
    "Vincent",
    "Yann",
    "Jérôme",
    "Christophe",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Durand",
    "Lefèvre",
    "Moreau",
    "Laurent",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Leroy",
    "Garnier",
    "Chevalier",
    "Fournier",
    "Guérin",
    "Boucher",
    "Chauvin",
    "Besnard",
    "Pichon",
    "Lemaire",
    "Hamon",
    "Renaud",
    "Gautier",
    "Pelletier",
    "Barbier",
    "Cosnard",
    "Lebreton",
    "Marchand",
    "Hardy",
    "Leconte",
    "Tessier",
    "Hérault",
]
MAIL_DOMAINS = ["orange.fr", "wanadoo.fr", "gmail.com", "laposte.net", "free.fr", "sfr.fr", "outlook.fr"]


# --------------------------------------------------------------------------- reference


def load_sarthe_pharmacies(reference_dir: Path | str = REFERENCE_DIR) -> list[dict]:
    """Return the 163 Sarthe pharmacies (FINESS category 620) of the reference register.

    Each item is ``{"finess": "72...", "raison_sociale": ..., "code_commune": ...}``, in file order.
    """
    path = Path(reference_dir) / "finess_et_72_stock20210108.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return [
            {"finess": r["nofinesset"], "raison_sociale": r["rs"], "code_commune": r["code_insee_derive"]}
            for r in csv.DictReader(f)
            if r["categetab"] == "620"
        ]


# --------------------------------------------------------------------------- helpers


def _strip_accents(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _yes_no(value: bool, rng: random.Random, variants: bool) -> str:
    """'Oui'/'Non' most of the time, sometimes a variant a steward or a form would produce."""
    if not variants or rng.random() < 0.88:
        return "Oui" if value else "Non"
    return rng.choice(["oui", "O", "X", "OUI"] if value else ["non", "N", " Non ", "NON"])


def _respondent(rng: random.Random, pharmacy_name: str) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    slug = lambda s: _strip_accents(s).lower().replace(" ", "").replace("'", "")  # noqa: E731
    if rng.random() < 0.35:
        words = [w for w in _strip_accents(pharmacy_name).lower().split() if w.isalpha()]
        local = "pharmacie." + (words[-1] if words else "officine")
        email = f"{local}@{rng.choice(['orange.fr', 'wanadoo.fr', 'gmail.com'])}"
    else:
        email = f"{slug(first)}.{slug(last)}@{rng.choice(MAIL_DOMAINS)}"
    if rng.random() < 0.8:
        digits = [rng.randint(0, 99) for _ in range(3)]
        phone = "02 43 " + " ".join(f"{d:02d}" for d in digits)
    else:
        digits = [rng.randint(0, 99) for _ in range(4)]
        phone = rng.choice(["06", "07"]) + " " + " ".join(f"{d:02d}" for d in digits)
    name = f"{first} {last.upper()}" if rng.random() < 0.5 else f"{first} {last}"
    return name, email, phone


def _as_pharmacy(p: str | Mapping) -> dict:
    if isinstance(p, str):
        return {"finess": p, "raison_sociale": "", "code_commune": ""}
    return {
        "finess": str(p["finess"]),
        "raison_sociale": p.get("raison_sociale", ""),
        "code_commune": p.get("code_commune", ""),
    }


# --------------------------------------------------------------------------- builder


def build_pharmacy_wave(
    path: Path | str,
    pharmacies: Sequence[str | Mapping],
    mssante_count: int,
    fax_count: int,
    fax_among_mssante: int | None = None,
    *,
    wave: date = date(2024, 6, 1),
    first_day: int = 3,
    last_day: int = 28,
    fmt: str | None = None,
    encoding: str = "utf-8",
    delimiter: str = ";",
    title: str | None = None,
    yes_no_variants: bool = True,
    personal_data: bool = True,
    trailing_empty_rows: int = 2,
    seed: int = SEED,
) -> Path:
    """Write one survey wave where every listed pharmacy answered, with the given counts.

    Args:
        path: output file (folders created). ``.xlsx`` or ``.csv``; ``fmt`` overrides the suffix.
        pharmacies: respondents, FINESS strings or dicts with ``finess`` and optionally
            ``raison_sociale`` and ``code_commune`` (e.g. items of :func:`load_sarthe_pharmacies`).
        mssante_count: respondents answering yes to "Équipée MSSanté ?".
        fax_count: respondents answering yes to "Possède un fax ?".
        fax_among_mssante: among the MSSanté-equipped ones, how many have a fax
            (default: proportional). Must be compatible with the two counts above.
        wave: month of the wave; responses are spread over days ``first_day``..``last_day``.
        fmt: ``"xlsx"`` or ``"csv"`` (default: from the suffix of ``path``).
        encoding, delimiter: for csv only (e.g. ``"cp1252"`` and ``";"``; ``"utf-8-sig"`` for BOM).
        title: merged title row of the xlsx (default: "Enquête MSSanté et fax ... <mois année>").
        yes_no_variants: mix "oui", "O", "X", "N"... into the "Oui"/"Non" answers.
        personal_data: include respondent name, e-mail and phone columns.
        trailing_empty_rows: formatted empty rows after the data (xlsx only).
        seed: random seed (same arguments + same seed = same file).

    Yes/no answers are never left empty, so the counts read back are exactly the ones given.
    Returns the path written.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("xlsx", "csv"):
        raise ValueError(f"fmt must be 'xlsx' or 'csv', not {fmt!r}")
    rows_in = [_as_pharmacy(p) for p in pharmacies]
    n = len(rows_in)
    if fax_among_mssante is None:
        fax_among_mssante = round(fax_count * mssante_count / n) if n else 0
        fax_among_mssante = max(fax_count - (n - mssante_count), min(fax_among_mssante, mssante_count, fax_count))
    fax_not_equipped = fax_count - fax_among_mssante
    if not (
        0 <= mssante_count <= n
        and 0 <= fax_among_mssante <= mssante_count
        and 0 <= fax_not_equipped <= n - mssante_count
    ):
        raise ValueError(
            "incompatible counts: need 0 <= fax_among_mssante <= mssante_count <= "
            "len(pharmacies) and 0 <= fax_count - fax_among_mssante <= "
            "len(pharmacies) - mssante_count"
        )

    rng = random.Random(seed)
    profile = (
        [(True, True)] * fax_among_mssante
        + [(True, False)] * (mssante_count - fax_among_mssante)
        + [(False, True)] * fax_not_equipped
        + [(False, False)] * (n - mssante_count - fax_not_equipped)
    )
    rng.shuffle(profile)

    start = datetime(wave.year, wave.month, first_day, 8, 0)
    span_days = max(0, last_day - first_day)
    records = []
    for ph, (mss, fax) in zip(rows_in, profile):
        day = min(span_days, int(rng.betavariate(1.2, 2.2) * (span_days + 1)))  # most answers early
        ts = start + timedelta(days=day, minutes=rng.randint(0, 11 * 60), seconds=rng.randint(0, 59))
        if ts.weekday() == 6:  # few pharmacists answer on Sundays
            ts += timedelta(days=1) if day < span_days else -timedelta(days=1)
        operator = None
        if mss:
            operator = rng.choice(OPERATORS) if rng.random() < 0.93 else None
        if fax:
            sent = rng.choice([0, 1, 2, 2, 3, 4, 5, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40])
        else:
            sent = 0 if rng.random() < 0.5 else None
        name, email, phone = _respondent(rng, ph["raison_sociale"])
        records.append(
            [
                ph["finess"],
                ph["raison_sociale"] or None,
                ph["code_commune"] or None,
                _yes_no(mss, rng, yes_no_variants),
                operator,
                _yes_no(fax, rng, yes_no_variants),
                sent,
                ts,
                name,
                email,
                phone,
            ]
        )
    records.sort(key=lambda r: r[7])  # survey exports come in response order

    headers = list(HEADERS)
    if not personal_data:
        headers, records = headers[:8], [r[:8] for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(path, headers, records, encoding, delimiter)
    else:
        months = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ]
        title = title or (
            f"Enquête MSSanté et fax auprès des officines de la Sarthe - {months[wave.month - 1]} {wave.year}"
        )
        _write_xlsx(path, headers, records, title, trailing_empty_rows)
    return path


def _write_csv(path: Path, headers: list, records: Iterable[list], encoding: str, delimiter: str) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
        w.writerow([h.replace("\n", " ") for h in headers])
        for r in records:
            w.writerow(
                ["" if v is None else v.strftime("%d/%m/%Y %H:%M:%S") if isinstance(v, datetime) else v for v in r]
            )


def _write_xlsx(path: Path, headers: list, records: list[list], title: str, trailing: int) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Réponses"
    ncol = len(headers)
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=3, column=j, value=h)
        c.font, c.fill, c.border = Font(bold=True), fill, border
        c.alignment = Alignment(wrap_text=True, vertical="center")
    for i, rec in enumerate(records, start=4):
        for j, v in enumerate(rec, start=1):
            c = ws.cell(row=i, column=j, value=v)
            c.border = border
            if j in (1, 3) and v is not None:
                c.number_format = "@"  # FINESS and commune code typed as text
            if isinstance(v, datetime):
                c.number_format = "DD/MM/YYYY HH:MM:SS"
    last = 3 + len(records)
    for i in range(last + 1, last + 1 + trailing):  # rows Excel keeps: formatting, empty strings
        for j in range(1, ncol + 1):
            c = ws.cell(row=i, column=j, value="" if j in (1, 4, 6) else None)
            c.border = border
    for j, width in enumerate([13, 42, 13, 12, 20, 11, 14, 20, 24, 34, 16][:ncol], start=1):
        ws.column_dimensions[ws.cell(row=3, column=j).column_letter].width = width
    ws.row_dimensions[3].height = 45
    ws.freeze_panes = "A4"
    ws.auto_filter.ref = f"A3:{ws.cell(row=last, column=ncol).coordinate}"
    save_workbook(wb, path, creator="ARS Pays de la Loire - DD72", moment=datetime(2024, 7, 1, 9, 30))


# --------------------------------------------------------------------------- main


def choose_june_2024_respondents(reference_dir: Path | str = REFERENCE_DIR, count: int = 156) -> list[dict]:
    """The ``count`` pharmacies (of 163) that answered the June 2024 wave, chosen deterministically."""
    pharmacies = load_sarthe_pharmacies(reference_dir)
    rng = random.Random(SEED)
    keep = set(rng.sample(range(len(pharmacies)), count))
    return [p for i, p in enumerate(pharmacies) if i in keep]


def write_samples(folder: Path = RAW_DIR) -> list[Path]:
    """The June 2024 wave, as the roadmap describes it (123 of 156 equipped, 142 with a fax, 112 of both)."""
    respondents = choose_june_2024_respondents()
    return [
        build_pharmacy_wave(
            folder / "2024-06 enquete officines.xlsx",
            respondents,
            mssante_count=123,
            fax_count=142,
            fax_among_mssante=112,
        )
    ]
