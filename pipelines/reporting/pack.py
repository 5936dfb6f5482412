"""The committee pack: tableau-de-bord.html, comite.xlsx and comite.pdf, made from the published warehouse.

`build_pack(settings)` reads the version the published link points at, writes the three files into
`rapports/versions/<stamp>/` (the stamp of that warehouse version), then puts copies in `rapports/`,
each in one rename, so a reader never opens half a file. A pack version is kept as long as its
warehouse version is (warehouse/versions/). With `out_dir`, the three files go there and nothing else
is touched (`esante rapport --out DIR`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from pipelines.foundation.files import atomic_path, remove_stale_temporaries, write_atomically
from pipelines.foundation.settings import Settings
from pipelines.reporting.content import Pack, build_content
from pipelines.reporting.snapshot import NoPublishedWarehouse, load_snapshot

HTML, WORKBOOK, PDF = "tableau-de-bord.html", "comite.xlsx", "comite.pdf"
FILES = (HTML, WORKBOOK, PDF)
VERSIONS = "versions"

__all__ = [
    "FILES",
    "HTML",
    "PDF",
    "WORKBOOK",
    "NoPublishedWarehouse",
    "build_pack",
    "make_pack",
    "pack_versions",
    "write_files",
]


def build_pack(settings: Settings, out_dir: Path | None = None, built_at: dt.datetime | None = None) -> list[Path]:
    """The three files for the published warehouse; returns their paths (in `rapports/` or `out_dir`)."""
    return make_pack(settings, out_dir, built_at)[1]


def make_pack(
    settings: Settings, out_dir: Path | None = None, built_at: dt.datetime | None = None
) -> tuple[Pack, list[Path]]:
    """The pack's content (it names the snapshot) and the files written."""
    pack = build_content(load_snapshot(settings), built_at)
    if out_dir is not None:
        return pack, write_files(pack, Path(out_dir))
    reports = settings.reports_dir
    remove_stale_temporaries(reports)
    version = write_files(pack, reports / VERSIONS / pack.snapshot.stamp)
    current = []
    for path in version:
        target = reports / path.name
        with atomic_path(target) as temporary:
            shutil.copyfile(path, temporary)
        current.append(target)
    prune_pack_versions(settings, keep=pack.snapshot.stamp)
    return pack, current


def write_files(pack: Pack, folder: Path) -> list[Path]:
    from pipelines.reporting.html import render_html
    from pipelines.reporting.pdf import write_pdf
    from pipelines.reporting.workbook import write_workbook

    folder.mkdir(parents=True, exist_ok=True)
    html = folder / HTML
    write_atomically(html, render_html(pack))
    return [html, write_workbook(pack, folder / WORKBOOK), write_pdf(pack, folder / PDF)]


def pack_versions(settings: Settings) -> list[Path]:
    folder = settings.reports_dir / VERSIONS
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def prune_pack_versions(settings: Settings, keep: str) -> list[Path]:
    """Remove the packs of warehouse versions that are gone (pruned), never the one just written."""
    kept = {p.stem.split("-", 1)[-1] for p in settings.versions_dir.glob(f"{settings.warehouse_path.stem}-*.duckdb")}
    removed = []
    for folder in pack_versions(settings):
        if folder.name != keep and folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
