"""Problems are data: one list feeds the CLI report, the JSON output, the annotated workbook, the
portal, audit tables and Dagster checks.

A problem names the file, sheet, row and column, the value found, what is wrong and what to do,
in French, for data stewards who work in Excel. Nobody formats a problem twice: `as_text` is the
one rendering, `summary` the one listing (with its cap and the count of what it leaves out).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Literal, TypeVar

Severity = Literal["erreur", "avertissement"]

# Problems of one kind listed per file (the rest are counted): enough to fix a file in one pass,
# few enough for a report a person reads and for a rejected national extract to stay cheap.
LISTED_PER_RULE = 500
# Problems shown in a summary (the CLI, an audit message); the full list is in the report files.
SHOWN_IN_SUMMARY = 200

Item = TypeVar("Item")


@dataclass(frozen=True)
class Problem:
    message: str  # what is wrong, in French
    action: str  # what to do, in French
    file: str | None = None
    sheet: str | None = None
    row: int | None = None  # spreadsheet row number (1-based, as Excel shows it) or CSV line
    column: str | None = None  # the header as written in the file, or the canonical name
    cell: str | None = None  # Excel reference such as "D12", when known
    value: str | None = None
    severity: Severity = "erreur"
    check: str = "validation"  # short identifier of the rule that found it
    subject: str | None = None  # what the row is about, as the file names it (a pharmacy, an establishment)
    kind: Literal["structure", "contenu"] = "contenu"  # the file's shape, or the values in it
    count: int = 1  # rows this problem stands for ("… et 212 autre(s) ligne(s) dans le même cas")

    @property
    def is_error(self) -> bool:
        return self.severity == "erreur"

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"fichier « {printable(self.file)} »")
        if self.sheet:
            parts.append(f"feuille « {printable(self.sheet)} »")
        if self.row is not None:
            parts.append(f"ligne {self.row}")
        if self.column:
            parts.append(f"colonne « {printable(self.column)} »")
        if self.cell:
            parts.append(f"cellule {self.cell}")
        if self.subject:
            parts.append(f"({printable(self.subject)})")
        return ", ".join(parts).replace(", (", " (")

    def as_text(self) -> str:
        label = "ERREUR" if self.is_error else "AVERTISSEMENT"
        found = f" Valeur trouvée : « {printable(self.value)} »." if self.value not in (None, "") else ""
        where = self.where()
        return f"[{label}] {where + ' : ' if where else ''}{sentence(self.message)}{found} → {self.action}"


def sentence(text: str) -> str:
    """A message ends with a full stop (or its own punctuation) before what follows it."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…", ")")) and not text.endswith(" )") else text + "."


def printable(text: object) -> str:
    """A name as a person can read it on one line: line breaks and control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class ProblemsFound(Exception):
    """Raised where a step must stop: the problems say why, in French."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.as_text() for p in problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_error]


def total(problems: Iterable[Problem]) -> int:
    """How many problems the list stands for, the rows it only counts included."""
    return sum(p.count for p in problems)


def summary(problems: list[Problem], limit: int = SHOWN_IN_SUMMARY) -> str:
    """A French report; long lists are cut with a count of what was left out."""
    lines = [p.as_text() for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… et {total(problems[limit:])} autre(s) problème(s) non affiché(s).")
    return "\n".join(lines)


def per_row(
    rows: Iterable[Item],
    total: int,
    make: Callable[[Item], Problem],
    *,
    limit: int = LISTED_PER_RULE,
) -> list[Problem]:
    """One problem per row, for at most `limit` rows of the `total` found; the rest are counted in a
    last problem of the same kind, so that a report stays readable and its count stays true."""
    problems = []
    for item in rows:
        if len(problems) == limit:
            break
        problems.append(make(item))
    if total > len(problems) and problems:
        last = problems[-1]
        problems.append(
            Problem(
                f"… et {total - len(problems)} autre(s) ligne(s) dans le même cas ({sentence(last.message)[:-1]}).",
                last.action,
                file=last.file,
                sheet=last.sheet,
                column=last.column,
                severity=last.severity,
                check=last.check,
                kind=last.kind,
                count=total - len(problems),
            )
        )
    return problems


def as_json(problems: list[Problem]) -> str:
    return json.dumps([asdict(p) for p in problems], ensure_ascii=False, indent=2)


def from_dicts(rows: Iterable[dict]) -> list[Problem]:
    return [Problem(**row) for row in rows]
