"""Months as the project counts them: "YYYY-MM" keys and the first month any statistic can exist."""

from __future__ import annotations

import datetime as dt

# Mon espace santé opened to everyone in January 2022: the first month partition, and the earliest
# month a monthly source may hold.
FIRST_MONTH = dt.date(2022, 1, 1)


def month_key(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def month_start(key: str) -> dt.date:
    return dt.date(int(key[:4]), int(key[5:7]), 1)


def add_months(key: str, count: int) -> str:
    year, number = divmod(int(key[:4]) * 12 + int(key[5:7]) - 1 + count, 12)
    return f"{year:04d}-{number + 1:02d}"


def this_month(today: dt.date | None = None) -> dt.date:
    return (today or dt.date.today()).replace(day=1)
