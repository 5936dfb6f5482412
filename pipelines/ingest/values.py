"""Value normalisation, vectorised: every parser turns a text column into a typed column.

Each parser returns the typed expression; a cell that holds text but parses to null is an error,
reported by `parse_columns` with its row and column. Empty cells are unknown (null), never "no".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from pipelines.foundation.text import word_key, word_key_expr

SPACES = r"[\s\u00a0\u202f]"

YES = ("oui", "o", "x", "1", "vrai", "yes", "y", "true")
NO = ("non", "n", "0", "faux", "no", "false")
YES_NO = {**{word: True for word in YES}, **{word: False for word in NO}}

EXCEL_EPOCH = dt.date(1899, 12, 30)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Trim (non-breaking spaces included); empty -> null."""
    trimmed = expr.str.replace_all(r"^[\s\u00a0\u202f]+|[\s\u00a0\u202f]+$", "")
    return pl.when(trimmed.str.len_chars() > 0).then(trimmed)


def parse_yes_no(expr: pl.Expr) -> pl.Expr:
    key = clean_text(expr).str.to_lowercase().str.replace(r"\.0$", "")
    return key.replace_strict(YES_NO, default=None, return_dtype=pl.Boolean)


def _compact_number(expr: pl.Expr) -> pl.Expr:
    return clean_text(expr).str.replace_all(SPACES, "")


def parse_integer(expr: pl.Expr) -> pl.Expr:
    compact = _compact_number(expr).str.replace(r"^([+-]?\d+)\.0+$", "$1")  # Excel's 12.0
    return pl.when(compact.str.contains(r"^[+-]?\d+$")).then(compact).cast(pl.Int64, strict=False)  # too large: null


def parse_decimal(expr: pl.Expr) -> pl.Expr:
    """1234 / 1 234 / 1234,5 / 1234.5; '1.234,5' and '1,234.5' are ambiguous and rejected."""
    compact = _compact_number(expr)
    unambiguous = compact.str.contains(r"^[+-]?\d+([.,]\d+)?$")
    return pl.when(unambiguous).then(compact.str.replace(",", ".")).cast(pl.Float64, strict=False)


def parse_rate(expr: pl.Expr) -> pl.Expr:
    """'69 %', '69%', '0,69', '0.69' -> 0.69."""
    compact = _compact_number(expr)
    percent = compact.str.ends_with("%")
    number = parse_decimal(compact.str.strip_suffix("%"))
    return pl.when(percent).then(number / 100).otherwise(number)


_DATE_FORMATS = (
    (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    (r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$", "%Y-%m-%d %H:%M:%S%.f"),
    (r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$", "%Y-%m-%d %H:%M"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
    (r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}$", "%d/%m/%Y %H:%M:%S"),
    (r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}$", "%d/%m/%Y %H:%M"),
    (r"^\d{1,2}/\d{1,2}/\d{2}$", "%d/%m/%y"),
)


def parse_datetime(expr: pl.Expr) -> pl.Expr:
    """Excel dates (read as ISO text), Excel serial numbers, dd/mm/yyyy(hh:mm(:ss)), dd/mm/yy, yyyy-mm-dd."""
    text = clean_text(expr).str.replace("T", " ")
    attempts = [
        pl.when(text.str.contains(pattern)).then(text.str.strptime(pl.Datetime("us"), fmt, strict=False))
        for pattern, fmt in _DATE_FORMATS
    ]
    serial = pl.when(text.str.contains(r"^\d{1,5}(\.\d+)?$")).then(text.cast(pl.Float64, strict=False))
    from_serial = pl.when(serial.is_between(1, 2_958_465)).then(
        pl.lit(dt.datetime(1899, 12, 30)) + pl.duration(milliseconds=(serial * 86_400_000).round(0).cast(pl.Int64))
    )
    return pl.coalesce(*attempts, from_serial)


def parse_date(expr: pl.Expr) -> pl.Expr:
    return parse_datetime(expr).dt.date()


def parse_month(expr: pl.Expr) -> pl.Expr:
    """'2024-11', '11/2024', a date or an Excel serial -> first day of that month."""
    text = clean_text(expr)
    year_month = pl.when(text.str.contains(r"^\d{4}-(0?[1-9]|1[0-2])$")).then(
        text.str.strptime(pl.Date, "%Y-%m", strict=False)
    )
    month_year = pl.when(text.str.contains(r"^(0?[1-9]|1[0-2])/\d{4}$")).then(
        ("01/" + text).str.strptime(pl.Date, "%d/%m/%Y", strict=False)
    )
    return pl.coalesce(year_month, month_year, parse_date(expr)).dt.month_start()


def parse_finess(expr: pl.Expr) -> pl.Expr:
    """9 characters; a lost leading zero (Excel turned 010001234 into 10001234) is restored."""
    compact = _compact_number(expr).str.to_uppercase().str.replace(r"\.0$", "")
    restored = pl.when(compact.str.contains(r"^\d{8}$")).then("0" + compact).otherwise(compact)
    return pl.when(restored.str.contains(r"^(\d{2}|2A|2B)\d{7}$")).then(restored)


def parse_commune(expr: pl.Expr) -> pl.Expr:
    compact = _compact_number(expr).str.to_uppercase().str.replace(r"\.0$", "")
    restored = pl.when(compact.str.contains(r"^\d{4}$")).then("0" + compact).otherwise(compact)
    return pl.when(restored.str.contains(r"^(\d{5}|2[AB]\d{3})$")).then(restored)


def finess_key_is_valid(finess: pl.Expr) -> pl.Expr:
    """Luhn (mod 10) over the 9 characters; Corsica's 2A/2B count as 21/22."""
    digits = finess.str.replace(r"^2A", "21").str.replace(r"^2B", "22")
    total = pl.lit(0)
    for position in range(9):
        digit = digits.str.slice(position, 1).cast(pl.Int32, strict=False)
        if position % 2 == 1:  # every second digit from the right, the key excluded
            doubled = digit * 2
            digit = pl.when(doubled > 9).then(doubled - 9).otherwise(doubled)
        total = total + digit
    return (total % 10) == 0


@dataclass(frozen=True)
class ValueKind:
    """How a kind of value is parsed, its polars type, and how a steward should write it."""

    parse: Callable[[pl.Expr], pl.Expr]
    dtype: pl.DataType
    expected: str  # French, shown when a cell does not parse: "Saisissez {expected}."
    name: str | None = None  # French, "La valeur n'est pas reconnue comme {name}."; default: expected up to a comma
    # a plain cast gives the same value as `parse` wherever it gives one (digits for an integer):
    # most cells are cast that way, `parse` runs on the others only
    castable: bool = False

    @property
    def described(self) -> str:
        return self.name or self.expected.split(",")[0]


KINDS: dict[str, ValueKind] = {
    "text": ValueKind(clean_text, pl.String(), "un texte"),
    "yes_no": ValueKind(parse_yes_no, pl.Boolean(), "Oui ou Non (ou O/N, X, 1/0, Vrai/Faux)", name="Oui ou Non"),
    "integer": ValueKind(parse_integer, pl.Int64(), "un nombre entier, par exemple 1234 ou 1 234", castable=True),
    "decimal": ValueKind(
        parse_decimal,
        pl.Float64(),
        "un nombre, par exemple 1234,5 (virgule décimale, sans séparateur de milliers à point)",
    ),
    "rate": ValueKind(parse_rate, pl.Float64(), "un taux, par exemple 69 % ou 0,69"),
    "date": ValueKind(parse_date, pl.Date(), "une date, par exemple 03/06/2024 ou 2024-06-03"),
    "datetime": ValueKind(parse_datetime, pl.Datetime("us"), "une date, par exemple 03/06/2024 10:15 ou 2024-06-03"),
    "month": ValueKind(parse_month, pl.Date(), "un mois, par exemple 2024-11 ou 11/2024"),
    "finess": ValueKind(parse_finess, pl.String(), "un numéro FINESS de 9 caractères, par exemple 720000017"),
    "commune": ValueKind(parse_commune, pl.String(), "un code INSEE de commune à 5 caractères, par exemple 72181"),
}


# --- "choice": a closed list of words, each mapped to a code ---------------------------------------

CHOICES_SHOWN = 8  # codes listed in the "what to write" text; more are summed up by "…"


def choice_keys(choices: Mapping[str, str]) -> dict[str, str]:
    """word_key(word) -> code; words may be written as a steward would ("Privé non lucratif")."""
    keys: dict[str, str] = {}
    for word, code in choices.items():
        key = word_key(word)
        if keys.setdefault(key, code) != code:
            raise ValueError(f"« {word} » is both {keys[key]!r} and {code!r}")
    return keys


def parse_choice(choices: Mapping[str, str]) -> Callable[[pl.Expr], pl.Expr]:
    """A cell whose word_key is one of the words -> its code; another word -> null (an error).
    An Excel number read as text ("44.0") is its integer ("44")."""
    keys = choice_keys(choices)

    def parse(expr: pl.Expr) -> pl.Expr:
        text = clean_text(expr).str.replace(r"^(\d+)\.0+$", "$1")
        return word_key_expr(text).replace_strict(keys, default=None, return_dtype=pl.String)

    return parse


def choice_expected(choices: Mapping[str, str]) -> str:
    """French: the first word of each code (and its second as an alternative), in the order given:
    « GHT » (ou « public »), « ESPIC » (ou « privé non lucratif ») ou « privé lucratif »."""
    words_by_code: dict[str, list[str]] = {}
    for word, code in choices.items():
        words_by_code.setdefault(code, []).append(word)
    shown = [
        f"« {words[0]} »" + (f" (ou « {words[1]} »)" if len(words) > 1 else "")
        for words in list(words_by_code.values())[:CHOICES_SHOWN]
    ]
    if len(words_by_code) > CHOICES_SHOWN:
        return ", ".join(shown) + ", …"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " ou " + shown[-1]


def choice_kind(choices: Mapping[str, str], label: str) -> ValueKind:
    """How the cells of a closed-list column are parsed: its own words, each to its code."""
    return ValueKind(
        parse_choice(choices), pl.String(), choice_expected(choices), name=f"une valeur admise pour « {label} »"
    )


def per_distinct_value(cells: pl.Series, transform: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`transform` applied to each distinct value once, then mapped back to every row: months,
    levels and codes repeat over hundreds of thousands of rows, and the parsers try several
    formats (a national extract is parsed several times faster this way). Mostly distinct values
    (counts) are transformed directly, which is cheaper for them."""
    distinct = cells.drop_nulls().unique()
    if distinct.len() > cells.len() // 4:
        return cells.to_frame().select(transform(pl.col(cells.name))).to_series().alias(cells.name)
    transformed = distinct.to_frame().select(transform(pl.col(cells.name))).to_series()
    return cells.replace_strict(distinct, transformed, default=None, return_dtype=transformed.dtype).alias(cells.name)
