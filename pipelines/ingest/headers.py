"""Header matching: find the header row and map the steward's headers to canonical column names.

Case, accents, spaces, punctuation, line breaks inside a header cell and a trailing "?" or ":"
are not significant: "Équipée MSSanté ?" and "equipee  mssante" are the same header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipelines.foundation.text import word_key

HEADER_SEARCH_ROWS = 30  # title rows a steward may put above the header
MERGED_HEADER = re.compile(r"\s*(?:/|\+|&|\bet\b|\bou\b|;)\s*")  # "Équipée MSSanté / Possède un fax"


@dataclass(frozen=True)
class HeaderMatch:
    row_index: int  # index of the header row in the grid
    columns: dict[str, int]  # canonical name -> grid column index
    originals: dict[str, str]  # canonical name -> header as written
    ignored: list[str]  # headers present but not part of the contract
    duplicates: dict[str, list[str]]  # canonical name -> several headers that mean it
    merged: dict[str, list[str]] = field(default_factory=dict)  # header as written -> the columns it joins


def build_vocabulary(variants_by_column: dict[str, Sequence[str]]) -> dict[str, str]:
    """normalized header -> canonical name (the canonical name itself is always a variant)."""
    vocabulary: dict[str, str] = {}
    for canonical, variants in variants_by_column.items():
        for variant in (canonical, *variants):
            vocabulary.setdefault(word_key(variant), canonical)
    return vocabulary


def locate_header(rows: Iterable[Sequence[object]], vocabulary: dict[str, str]) -> HeaderMatch | None:
    """The row (among the first ones) whose cells match the most known headers."""
    best: tuple[int, int] | None = None  # (score, index)
    cached: list[Sequence[object]] = []
    for index, row in enumerate(rows):
        if index >= HEADER_SEARCH_ROWS:
            break
        cached.append(row)
        score = len({vocabulary[h] for h in map(word_key, row) if h in vocabulary})
        if score and (best is None or score > best[0]):
            best = (score, index)
    if best is None:
        return None
    index = best[1]
    columns: dict[str, int] = {}
    originals: dict[str, str] = {}
    ignored: list[str] = []
    duplicates: dict[str, list[str]] = {}
    merged: dict[str, list[str]] = {}
    for position, cell in enumerate(cached[index]):
        text = "" if cell is None else " ".join(str(cell).split())
        canonical = vocabulary.get(word_key(cell))
        if canonical is None:
            joined = merged_columns(text, vocabulary)
            if joined:
                merged[text] = joined
            elif text:
                ignored.append(text)
        elif canonical in columns:
            duplicates.setdefault(canonical, [originals[canonical]]).append(text)
        else:
            columns[canonical] = position
            originals[canonical] = text
    return HeaderMatch(index, columns, originals, ignored, duplicates, merged)


def merged_columns(text: str, vocabulary: dict[str, str]) -> list[str]:
    """The columns a header cell joins ("Équipée MSSanté / Possède un fax": mssante and fax), if it is
    two or more known headers written in one cell."""
    parts = [word_key(part) for part in MERGED_HEADER.split(text) if part.strip()]
    known = [vocabulary[part] for part in parts if part in vocabulary]
    return known if len(parts) > 1 and len(set(known)) == len(parts) else []
