"""Months as the project counts them: "YYYY-MM" keys, the first month any statistic can exist, and the month
stewards write in their file names ("2025-06 registre CLS.xlsx")."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

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


# A year-month anywhere in a file name: 2025-06, 2025_06, 2025.06, 202506 (not inside a longer number).
NAME_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_. ]?(0[1-9]|1[0-2])(?!\d)")


def month_in_name(path: Path) -> dt.date | None:
    """First day of the month written in the file's name, if any."""
    found = NAME_MONTH.search(path.stem)
    return dt.date(int(found.group(1)), int(found.group(2)), 1) if found else None
