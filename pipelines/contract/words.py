"""Choice words that come from the reference: how stewards name a département or an EPCI.

A "choice" column may take its words from the reference data (`Column(choices=epci_words)`): the
words follow the territory in scope, and the reference files, never a list in code.
"""

from __future__ import annotations

import re

from pipelines.foundation.text import word_key
from pipelines.reference.tables import ReferenceData

EPCI_KINDS = {"CC": "Communauté de communes", "CA": "Communauté d'agglomération", "CU": "Communauté urbaine"}


def departement_words(reference: ReferenceData) -> dict[str, str]:
    """Every French département, as stewards write it: "44", "44.0" (an Excel number), "Loire-Atlantique",
    "44 - Loire-Atlantique", "Loire-Atlantique (44)", "1" for 01 (the leading zero Excel drops)."""
    return {
        word: code
        for code, name in reference.geography.departements.items()
        for word in (code, name, f"{code} {name}", f"{name} {code}", *([code[1]] if code.startswith("0") else []))
    }


def epci_words(reference: ReferenceData) -> dict[str, str]:
    """Every EPCI of the territory as stewards write it: its name (« CC du Val de Sarthe »), its SIREN
    (« 247200629 », « 247 200 629 »), its name in full (« Communauté de communes du Val de Sarthe ») or
    without its kind (« Val de Sarthe »). A form two EPCI share is left out (it names neither)."""
    owners: dict[str, set[str]] = {}
    forms: list[tuple[str, str]] = []
    for siren, name in reference.table("epci").select("epci_siren", "epci_nom").iter_rows():
        kind, _, rest = name.partition(" ")
        full = f"{EPCI_KINDS[kind]} {rest}" if kind in EPCI_KINDS else name
        short = re.sub(r"^(du |de la |des |de l'|d'|de )", "", rest) if kind in EPCI_KINDS else name
        for word in (name, siren, f"{siren[:3]} {siren[3:6]} {siren[6:]}", full, short):
            owners.setdefault(word_key(word), set()).add(siren)
            forms.append((word, siren))
    words: dict[str, str] = {}
    taken: set[str] = set()
    for word, siren in forms:
        key = word_key(word)
        if len(owners[key]) == 1 and key not in taken:
            words[word] = siren
            taken.add(key)
    return words
