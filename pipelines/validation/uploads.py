"""Which files of raw/<source>/ are uploads: regular files only, in the order they arrived.

Office lock files, temporary and partial downloads, hidden files and our own `_rejets/` folder are
not uploads. Anything that is not a regular file (a symbolic link, a folder, a FIFO, a device) is
never followed nor opened: it is listed apart, with a French message, so the steward knows why it
was not taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.foundation.files import kind_of

IGNORED_PREFIXES = ("~$", ".", "_")  # Office lock files, hidden files, our own _rejets folder
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".md")


@dataclass(frozen=True)
class Refused:
    """An entry of a source folder that is not a regular file."""

    path: Path
    kind: str  # French: 'lien symbolique', 'dossier', 'tube nommé'...

    @property
    def message(self) -> str:
        return (
            f"« {self.path.name} » est un {self.kind}, pas un fichier : il n'est ni suivi ni ouvert. "
            "Déposez le fichier lui-même (une copie)."
        )


def _is_candidate(path: Path) -> bool:
    return not path.name.startswith(IGNORED_PREFIXES) and not path.name.lower().endswith(IGNORED_SUFFIXES)


def scan_folder(folder: Path) -> tuple[list[Path], list[Refused]]:
    """(uploads oldest first, entries that are not regular files). A later file for the same period
    replaces an earlier one, so the order matters."""
    if kind_of(folder) != "dossier":
        return [], []
    uploads, refused = [], []
    for path in folder.iterdir():
        if not _is_candidate(path):
            continue
        kind = kind_of(path)
        if kind == "fichier":
            uploads.append(path)
        elif kind != "absent":
            refused.append(Refused(path, kind))
    uploads.sort(key=lambda p: (p.lstat().st_mtime_ns, p.name))
    return uploads, sorted(refused, key=lambda r: r.path.name)


def list_uploads(folder: Path) -> list[Path]:
    return scan_folder(folder)[0]


UNSAFE_IN_KEY = re.compile(r"[,\[\]*\x00-\x1f\x7f]")


def partition_key(file_name: str, sha256: str) -> str:
    """Readable and unique: the content's fingerprint, then the name it arrived under."""
    return f"{sha256[:12]} {UNSAFE_IN_KEY.sub('_', file_name)}"[:250]


def sha_prefix(key: str) -> str:
    return key.split(" ", 1)[0]
