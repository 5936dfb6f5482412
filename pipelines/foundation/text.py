"""Word keys: how the project compares what people write, once, in Python and in polars.

Case, accents, spaces, punctuation, line breaks and a trailing "?" or ":" are not significant:
"Équipée MSSanté ?", "equipee  mssante" and "ÉQUIPÉE-MSSANTÉ" have the same key. Headers, choice
words (categories, statuses, levels) and sheet names are all compared by their key.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

import polars as pl


def word_key(text: object) -> str:
    """NFKD, combining marks (accents) dropped, lower case, every run of characters other than
    [a-z0-9] one space, trimmed: "Privé - non lucratif" -> "prive non lucratif". A letter without a
    decomposition is not spelt out ("Cœur" -> "c ur")."""
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", without_accents.lower()).strip()


def word_key_expr(expr: pl.Expr) -> pl.Expr:
    """`word_key`, vectorised: the same key for every cell of a column."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(_combining_marks(), "")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.strip_chars(" ")
    )


@cache
def _combining_marks() -> str:
    """A regex class of exactly the characters `unicodedata.combining` drops, so that both functions
    give the same key even outside Latin script."""
    points = [c for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))]
    ranges: list[list[int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"
