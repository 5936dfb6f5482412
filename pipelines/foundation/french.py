"""French number and date formats, once: for the CLI, the readable views, the reports and the portal.

`78,8 %`, `2 193 257` (thousands separated by a narrow no-break space, U+202F), `3,95`, `11/2024`.
The same rules exist as DuckDB macros (`SQL_MACROS`, created in the warehouse with the views), so
that an analyst's `valeur_affichee` and the CLI print the same text; a test holds them equal.
"""

from __future__ import annotations

import datetime as dt
import math

THOUSANDS = "\u202f"  # narrow no-break space, the French thousands separator
UNIT_DIGITS = {"taux": 1, "nombre": 0, "par habitant": 2, "moyenne": 1}  # decimals shown per unit


def format_count(value: float | int | None) -> str:
    """2193257 -> '2 193 257'; None -> ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{round(value):,}".replace(",", THOUSANDS)


def format_decimal(value: float | None, digits: int = 2) -> str:
    """3.9507 -> '3,95'; 12345.6 -> '12 345,60'."""
    if value is None or math.isnan(value):
        return ""
    return f"{value:,.{digits}f}".replace(",", THOUSANDS).replace(".", ",")


def format_rate(value: float | None) -> str:
    """0.7885 -> '78,8 %' (a rate is held between 0 and 1)."""
    if value is None or math.isnan(value):
        return ""
    return format_decimal(value * 100, 1) + " %"


def format_value(value: float | None, unit: str) -> str:
    """An indicator value as the committee reads it, by its unit ('taux', 'nombre', 'par habitant'…)."""
    if value is None:
        return "–"
    if unit == "taux":
        return format_rate(value)
    if unit == "nombre":
        return format_count(value)
    return format_decimal(value, UNIT_DIGITS.get(unit, 2))


def format_ratio(numerator: float | None, denominator: float | None) -> str:
    """'123 / 156', or the numerator alone for a count."""
    if denominator is None:
        return format_count(numerator)
    return f"{format_count(numerator)} / {format_count(denominator)}"


def format_month(day: dt.date | None) -> str:
    return "" if day is None else f"{day:%m/%Y}"


def format_date(day: dt.date | dt.datetime | None) -> str:
    return "" if day is None else f"{day:%d/%m/%Y}"


def format_period(day: dt.date | None, grain: str = "mois") -> str:
    """A period by its grain: 'mois' -> 11/2024, 'trimestre' -> T4 2023, 'annee' -> 2024, 'date' -> 17/10/2024."""
    if day is None:
        return ""
    if grain == "trimestre":
        return f"T{(day.month - 1) // 3 + 1} {day.year}"
    if grain == "annee":
        return str(day.year)
    if grain == "date":
        return format_date(day)
    return format_month(day)


# The same formats inside DuckDB (printf-style formatting in DuckDB and Python round the same binary
# value the same way). Created in the working database before the views that use them.
SQL_MACROS = f"""
CREATE OR REPLACE MACRO fr_nombre(x) AS
    CASE WHEN x IS NULL OR isnan(x::DOUBLE) THEN NULL
         ELSE replace(format('{{:,}}', CAST(round(x) AS BIGINT)), ',', '{THOUSANDS}') END;
CREATE OR REPLACE MACRO fr_decimal(x, digits) AS
    CASE WHEN x IS NULL OR isnan(x::DOUBLE) THEN NULL
         WHEN digits = 0 THEN fr_nombre(x)
         WHEN digits = 1 THEN replace(replace(format('{{:,.1f}}', x::DOUBLE), ',', '{THOUSANDS}'), '.', ',')
         ELSE replace(replace(format('{{:,.2f}}', x::DOUBLE), ',', '{THOUSANDS}'), '.', ',') END;
CREATE OR REPLACE MACRO fr_taux(x) AS fr_decimal(x * 100, 1) || ' %';
CREATE OR REPLACE MACRO fr_valeur(x, unite) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN unite = 'taux' THEN fr_taux(x)
         WHEN unite = 'nombre' THEN fr_nombre(x)
         WHEN unite = 'moyenne' THEN fr_decimal(x, 1)
         ELSE fr_decimal(x, 2) END;
"""
