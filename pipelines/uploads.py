"""Uploads as Dagster sees them: which files of raw/<source>/ count, and one dynamic partition each."""

from __future__ import annotations

import re
from pathlib import Path

from dagster import DynamicPartitionsDefinition

from pipelines.source import SourceUnit

IGNORED_PREFIXES = ("~$", ".", "_")  # Office lock files, hidden files, our own _rejets folder
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".md")


def list_uploads(folder: Path) -> list[Path]:
    """Files a steward dropped, oldest first (a later file for the same period replaces an earlier one)."""
    if not folder.is_dir():
        return []
    files = [
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(IGNORED_PREFIXES) and not p.name.lower().endswith(IGNORED_SUFFIXES)
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


UNSAFE_IN_KEY = re.compile(r"[,\[\]*]")


def upload_partitions(unit: SourceUnit) -> DynamicPartitionsDefinition:
    return DynamicPartitionsDefinition(name=f"{unit.source_id}_uploads")


def partition_key(file_name: str, sha256: str) -> str:
    """Readable and unique: the content's fingerprint, then the name it arrived under."""
    return f"{sha256[:12]} {UNSAFE_IN_KEY.sub('_', file_name)}"


def sha_prefix(key: str) -> str:
    return key.split(" ", 1)[0]
