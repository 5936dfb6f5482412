"""Problems are data: one list feeds the CLI report, the JSON output, audit tables and Dagster checks.

A problem names the file, sheet, row and column, the value found, what is wrong and what to do,
in French, for data stewards who work in Excel.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Literal

Severity = Literal["erreur", "avertissement"]


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

    @property
    def is_error(self) -> bool:
        return self.severity == "erreur"

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"fichier « {self.file} »")
        if self.sheet:
            parts.append(f"feuille « {self.sheet} »")
        if self.row is not None:
            parts.append(f"ligne {self.row}")
        if self.column:
            parts.append(f"colonne « {self.column} »")
        if self.cell:
            parts.append(f"cellule {self.cell}")
        return ", ".join(parts)

    def as_text(self) -> str:
        label = "ERREUR" if self.is_error else "AVERTISSEMENT"
        found = f" Valeur trouvée : « {self.value} »." if self.value not in (None, "") else ""
        where = self.where()
        return f"[{label}] {where + ' : ' if where else ''}{self.message}{found} → {self.action}"


class ProblemsFound(Exception):
    """Raised where a step must stop: the problems say why, in French."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.as_text() for p in problems))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_error]


def summary(problems: list[Problem], limit: int = 200) -> str:
    """A French report; long lists are cut with a count of what was left out."""
    lines = [p.as_text() for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… et {len(problems) - limit} autre(s) problème(s) non affiché(s).")
    return "\n".join(lines)


def as_json(problems: list[Problem]) -> str:
    return json.dumps([asdict(p) for p in problems], ensure_ascii=False, indent=2)
