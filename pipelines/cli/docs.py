"""`esante docs` and `esante echantillons`: what is generated from the units, written again."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipelines.contract.discovery import discover_units, reference_data
from pipelines.contract.pages import write_pages
from pipelines.foundation.settings import PROJECT_ROOT, Settings

DOCS = PROJECT_ROOT / "docs" / "sources"
DICTIONARY = PROJECT_ROOT / "warehouse" / "DICTIONNAIRE.md"
EXIT_OK = 0


def write_samples(raw_dir: Path) -> list[Path]:
    """Every unit's sample files, in raw_dir/<source_id>/."""
    written = []
    for unit in discover_units():
        if unit.write_samples is not None:
            folder = raw_dir / unit.source_id
            folder.mkdir(parents=True, exist_ok=True)
            written += unit.write_samples(folder)
    return written


def sample_dictionary() -> str:
    """The data dictionary of a warehouse built from every unit's samples (in a temporary folder)."""
    import duckdb
    from dagster import DagsterInstance

    from pipelines.orchestration.runs import rebuild
    from pipelines.warehouse.dictionary import render

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_samples(root / "raw")
        settings = Settings.from_environment({}).with_paths(
            raw_dir=root / "raw", warehouse_path=root / "warehouse" / "esante.duckdb"
        )
        with DagsterInstance.ephemeral() as instance:
            outcome = rebuild(settings, instance)
        if not outcome.published:
            raise RuntimeError("\n".join(outcome.failures))
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
            return render(connection)


def command_docs(settings: Settings) -> int:
    units = discover_units()
    pages = write_pages(DOCS, units, reference_data(settings.reference_dir, "72", units))
    DICTIONARY.write_text(sample_dictionary(), encoding="utf-8")
    print(
        f"Pages des sources : {len(pages)} fichier(s) dans {DOCS.relative_to(PROJECT_ROOT)}/ ; "
        f"dictionnaire : {DICTIONARY.relative_to(PROJECT_ROOT)}."
    )
    return EXIT_OK


def command_samples(args, settings: Settings) -> int:
    written = write_samples(args.out or settings.raw_dir)
    for path in written:
        print(f"écrit : {path}")
    return EXIT_OK
